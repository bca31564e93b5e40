"""A run whose process died is closed by the next run of its link, with the words why."""

from __future__ import annotations

from pp2eb.engine import runlog
from pp2eb.extensions import db
from pp2eb.models import SyncRun, utcnow
from pp2eb.runs import jobs
from pp2eb.setup import links
from pp2eb.states import RunStatus
from tests.engine_helpers import configure, the_link


def test_the_next_run_closes_a_run_left_running_by_a_dead_process(app, sandbox):
    configure(app)
    with app.app_context():
        shop = the_link()
        other = links.add("Other shop")
        # Runs whose processes were killed: their rows still say "running".
        dead = runlog.RunLog(db.session, shop.id).start_run("backfill", utcnow()).id
        elsewhere = runlog.RunLog(db.session, other.id).start_run("sync", utcnow()).id
        result = jobs.run("sync", link=shop)
        assert result.status == RunStatus.FINISHED
        closed = db.session.get(SyncRun, dead)
        assert (closed.status, closed.message) == (RunStatus.ABORTED, runlog.DIED)
        assert closed.finished_at is not None
        # Another link's run is that link's business: left as it is.
        assert db.session.get(SyncRun, elsewhere).status == RunStatus.RUNNING
        statuses = db.session.execute(
            db.select(SyncRun.status).where(SyncRun.link_id == shop.id)
        ).scalars()
        assert sorted(statuses) == [RunStatus.ABORTED, RunStatus.FINISHED]
