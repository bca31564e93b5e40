"""The Plug&Pay webhook: bad payloads change nothing, a good one books its order through the
engine against the sandboxes, a flood books it once, and the queue waits for a busy lease."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from pp2eb.engine.runlog import lease_holder
from pp2eb.extensions import db
from pp2eb.models import LinkState, OrderRecord, SyncRun, WebhookQueue, utcnow
from pp2eb.runs import background, scheduler
from pp2eb.runs import webhook_inbox as inbox
from pp2eb.runs import webhooks as runs
from pp2eb.setup import appstate
from pp2eb.states import OrderState, RunStatus
from tests.conftest import stored_text
from tests.engine_helpers import assert_exactly_once, booked_numbers, configure, store, the_link

PAID_ORDER = 1  # a paid, final, live demo order


def event(order_id=PAID_ORDER, trigger="order_paid", kind="order") -> dict:
    """The Webhooks V2 payload as Plug&Pay sends it (inferred shape, see the sandbox)."""
    return {
        "event": {"trigger_type": trigger, "triggerable_type": kind, "triggerable_id": order_id},
        "rule_id": 1,
        "sent_at": "2026-11-25T10:00:00.000000Z",
        "tenant_id": 1,
    }


@pytest.fixture
def secret(app) -> str:
    with app.app_context():
        return inbox.secret(the_link())


def hook(client, secret: str, payload=None, *, data=None, content_type="application/json"):
    body = data if data is not None else json.dumps(payload if payload is not None else event())
    return client.post(f"/hooks/plugandpay/{secret}", data=body, content_type=content_type)


def drained(app) -> None:
    assert runs.drainer(app).join(timeout=30), "the webhook run did not end"


def queue(app) -> list[int]:
    with app.app_context():
        return list(db.session.execute(db.select(WebhookQueue.order_id)).scalars())


def run_kinds(app) -> list[str]:
    with app.app_context():
        return list(db.session.execute(db.select(SyncRun.kind).order_by(SyncRun.id)).scalars())


def record(app, order_id: int) -> OrderRecord | None:
    with app.app_context():
        return db.session.execute(db.select(OrderRecord).filter_by(order_id=order_id)).scalar()


def pause(app, paused: bool = True) -> None:
    with app.app_context():
        appstate.put(the_link(), appstate.SCHEDULE_PAUSED, paused)


def sync_not_due(app) -> None:
    """A scheduled sync just ran, so a tick only drains the webhook queue."""
    with app.app_context():
        db.session.add(
            SyncRun(
                link_id=the_link().id, kind="sync", status=RunStatus.FINISHED, started_at=utcnow()
            )
        )
        db.session.commit()


# --- bad payloads: a 4xx and nothing else --------------------------------------------------

BIG = json.dumps(event() | {"padding": "x" * (16 * 1024)})


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ("this is not json", 400),
        ("\xff\xfe", 400),
        ("[1, 2]", 400),
        (json.dumps({"event": "order_paid"}), 422),
        (json.dumps({"event": {"trigger_type": "order_paid", "triggerable_type": "order"}}), 422),
        (json.dumps(event(order_id=0)), 422),
        (json.dumps(event(order_id=-5)), 422),
        (json.dumps(event(order_id="12a")), 422),
        (json.dumps(event(order_id=1.5)), 422),
        (json.dumps(event(order_id=True)), 422),
        (json.dumps(event(order_id=2**70)), 422),
        (json.dumps(event(kind="subscription")), 422),
        (json.dumps(event(trigger="affiliate_accepted")), 422),
        (BIG, 413),
    ],
)
def test_a_bad_payload_is_refused_and_nothing_happens(app, client, sandbox, secret, data, status):
    configure(app)
    resp = hook(client, secret, data=data)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.is_json and resp.get_json()["error"]
    assert queue(app) == [] and run_kinds(app) == []
    assert runs.drainer(app).thread is None  # no run was even started
    with app.app_context():
        assert db.session.get(LinkState, (the_link().id, inbox.LAST)) is None


def test_a_wrong_or_missing_secret_is_404_like_any_unknown_address(app, client, sandbox):
    configure(app)
    assert hook(client, "no-secret-made-yet").status_code == 404
    with app.app_context():
        real = inbox.secret(the_link())
    for wrong in (real[:-1], real + "x", real.upper(), "ü" * 43, "x"):
        resp = hook(client, wrong)
        assert resp.status_code == 404, wrong
        assert "hooks" not in resp.get_data(as_text=True)
    assert queue(app) == [] and run_kinds(app) == []


def test_the_secret_is_stored_encrypted_and_made_once(app, secret):
    with app.app_context():
        row = db.session.get(LinkState, (the_link().id, inbox.SECRET))
        assert secret not in row.value
        assert inbox.secret(the_link()) == secret
        assert len(secret) >= 43


# --- a good webhook: queued, 202 at once, then booked by a run ----------------------------


def test_a_webhook_queues_its_order_and_the_tick_books_it(app, client, sandbox, secret):
    configure(app)
    pause(app)  # the run cannot start: the row stays, visible
    resp = hook(client, secret, event(order_id=str(PAID_ORDER)))  # the id as digits works too
    assert (resp.status_code, resp.get_json()) == (202, {"queued": PAID_ORDER})
    drained(app)
    assert queue(app) == [PAID_ORDER] and run_kinds(app) == []
    pause(app, False)
    sync_not_due(app)
    assert scheduler.tick(app) == "not due"  # and then it drains the queue
    assert queue(app) == []
    assert run_kinds(app) == ["sync", "webhook"]
    assert record(app, PAID_ORDER).state == OrderState.BOOKED
    assert_exactly_once(sandbox, 1)
    with app.app_context():
        assert inbox.last_received(the_link())["order_id"] == PAID_ORDER


def test_a_webhook_books_its_order_within_the_request_s_background_run(
    app, client, sandbox, secret
):
    configure(app)
    assert hook(client, secret).status_code == 202
    drained(app)
    assert run_kinds(app) == ["webhook"]
    rec = record(app, PAID_ORDER)
    assert rec.state == OrderState.BOOKED and rec.eboekhouden_id
    assert queue(app) == []
    assert_exactly_once(sandbox, 1)
    # The invoice-created trigger and the flat payload are taken too.
    flat = {
        "trigger_type": "order_invoice_created",
        "triggerable_type": "orders",
        "triggerable_id": 2,
    }
    assert hook(client, secret, flat).status_code == 202
    drained(app)
    assert record(app, 2).state in (OrderState.BOOKED, OrderState.SKIPPED)


def test_a_webhook_for_an_unknown_order_is_recorded_and_leaves_the_queue(
    app, client, sandbox, secret
):
    configure(app)
    assert hook(client, secret, event(order_id=987654)).status_code == 202
    drained(app)
    rec = record(app, 987654)
    assert rec.state == OrderState.SKIPPED and "no longer exists" in rec.reason
    assert queue(app) == [] and booked_numbers(sandbox) == {}


def test_an_order_before_the_start_date_is_left_alone(app, client, sandbox, secret):
    configure(app, start_date=(utcnow() + timedelta(days=1)).date().isoformat())
    assert hook(client, secret).status_code == 202
    drained(app)
    assert run_kinds(app) == ["webhook"] and record(app, PAID_ORDER) is None
    assert queue(app) == [] and booked_numbers(sandbox) == {}


# --- floods: one row, one booking ---------------------------------------------------------


def test_a_flood_of_200_webhooks_books_the_order_once(app, client, sandbox, secret):
    configure(app)
    statuses = {hook(client, secret).status_code for _ in range(200)}
    assert statuses == {202}
    drained(app)
    assert_exactly_once(sandbox, 1)
    assert record(app, PAID_ORDER).state == OrderState.BOOKED
    assert queue(app) == []
    assert set(run_kinds(app)) == {"webhook"}


def test_webhooks_sent_at_once_from_threads_book_the_order_once(app, sandbox, secret):
    configure(app)
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def flood() -> None:
        client = app.test_client()
        barrier.wait()
        for _ in range(25):
            statuses.append(hook(client, secret).status_code)

    threads = [threading.Thread(target=flood) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drained(app)
    assert statuses == [202] * 200
    assert_exactly_once(sandbox, 1)
    assert queue(app) == []


def test_too_many_new_orders_a_minute_or_a_full_queue_get_429(app, client, sandbox, secret):
    app.config.update(WEBHOOK_MAX_PER_MINUTE=3, WEBHOOK_MAX_QUEUE=4)
    pause(app)
    answers = [hook(client, secret, event(order_id=n)).status_code for n in (1, 2, 3, 4)]
    assert answers == [202, 202, 202, 429]
    refused = hook(client, secret, event(order_id=5))
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert hook(client, secret, event(order_id=2)).status_code == 202  # already queued: no new row
    assert sorted(queue(app)) == [1, 2, 3]
    app.config.update(WEBHOOK_MAX_PER_MINUTE=100)
    assert hook(client, secret, event(order_id=6)).status_code == 202
    assert hook(client, secret, event(order_id=7)).status_code == 429  # the queue is full
    assert sorted(queue(app)) == [1, 2, 3, 6]


# --- the lease held, a run that stops -----------------------------------------------------


def test_while_another_run_holds_the_lease_the_queue_waits_for_the_tick(
    app, client, sandbox, secret
):
    configure(app)
    other = lease_holder().replace(":", "-x-", 1)  # another machine's process: alive
    with app.app_context():
        # Kept while it holds the lease: on PostgreSQL its connection holds the link's lock.
        other_log = store().run_log
        assert other_log.acquire_lease(other, utcnow(), timedelta(minutes=5))
    assert hook(client, secret).status_code == 202
    drained(app)
    assert queue(app) == [PAID_ORDER] and run_kinds(app) == []
    with app.app_context():
        other_log.release_lease(other)
    sync_not_due(app)
    scheduler.tick(app)
    assert queue(app) == [] and record(app, PAID_ORDER).state == OrderState.BOOKED
    assert run_kinds(app) == ["sync", "webhook"]


def test_the_end_of_a_run_started_from_the_browser_drains_the_queue(app, client, sandbox, secret):
    configure(app)
    other = lease_holder().replace(":", "-x-", 1)
    with app.app_context():
        other_log = store().run_log
        assert other_log.acquire_lease(other, utcnow(), timedelta(minutes=5))
    assert hook(client, secret, event(order_id=987)).status_code == 202  # unknown to the sync
    drained(app)
    assert queue(app) == [987]
    with app.app_context():
        other_log.release_lease(other)
        background.start("sync", the_link()).join(timeout=60)
    drained(app)
    assert run_kinds(app) == ["sync", "webhook"] and queue(app) == []
    assert record(app, 987).state == OrderState.SKIPPED


def test_a_run_that_stops_keeps_the_order_queued_three_times(app, client, sandbox, secret):
    configure(app)
    sandbox.control(
        "plugandpay", "POST", "faults", json={"path": "/v2/orders/*", "status": 401, "times": None}
    )
    assert hook(client, secret).status_code == 202
    drained(app)
    assert run_kinds(app) == ["webhook"]
    with app.app_context():
        assert db.session.get(WebhookQueue, (the_link().id, PAID_ORDER)).attempts == 1
    # In the cool-down after a stopped run a webhook starts no run; the tick still drains.
    assert hook(client, secret, event(order_id=2)).status_code == 202
    with app.app_context():
        assert runs.kick(app, the_link().id) is False
    drained(app)
    assert run_kinds(app) == ["webhook"]
    for _ in range(2):
        assert runs.drainer(app).drain() == RunStatus.ABORTED
    assert queue(app) == [2]  # given up after three stopped runs: the scheduled sync books it
    assert run_kinds(app).count("webhook") == 3


def test_a_secret_the_encryption_key_cannot_read_is_replaced(app, secret):
    from cryptography.fernet import Fernet

    from pp2eb.setup.crypto import Vault

    app.extensions["pp2eb_vault"] = Vault(Fernet.generate_key())  # the key file was lost
    with app.app_context():
        assert inbox.stored_secret(the_link()) is None and inbox.link_for_secret(secret) is None
        renewed = inbox.secret(the_link())
        assert renewed != secret and inbox.link_for_secret(renewed) is not None


def test_the_secret_is_never_logged_nor_stored_in_clear(app, sandbox, client, secret, caplog):
    import logging

    configure(app)
    caplog.set_level(logging.DEBUG)
    assert hook(client, secret).status_code == 202
    drained(app)
    assert hook(client, secret + "x").status_code == 404
    assert record(app, PAID_ORDER).state == OrderState.BOOKED
    assert secret not in caplog.text
    for where, text in stored_text(app).items():  # the file and its WAL, or every table
        assert secret not in text, where


def test_each_link_s_webhooks_book_into_that_link_and_one_link_s_trouble_stops_no_other(
    app, client, sandbox
):
    from pp2eb.apis.plugandpay import PlugAndPayClient
    from pp2eb.sandbox import EBOEKHOUDEN_TOKEN_2, PLUGANDPAY_KEY_2
    from pp2eb.setup import connections, links, shopsettings
    from tests.engine_helpers import SETTINGS

    configure(app)  # Shop A: the sandbox's default shop
    with app.app_context():
        a = the_link()
        b = links.add("Academy")  # its own Plug&Pay shop and administration
        connections.connect(b, "plugandpay", PLUGANDPAY_KEY_2)
        connections.connect(b, "eboekhouden", EBOEKHOUDEN_TOKEN_2)
        shopsettings.save_draft(b, SETTINGS)
        secrets_ = {a.id: inbox.secret(a), b.id: inbox.secret(b)}
        ids = a.id, b.id
    b_order = next(PlugAndPayClient(PLUGANDPAY_KEY_2, sandbox.plugandpay_url).iter_orders())["id"]
    # Shop A's Plug&Pay refuses its key from now on (only A's shop: the fault is its tenant's).
    sandbox.control(
        "plugandpay", "POST", "faults", json={"path": "/v2/orders/*", "status": 401, "times": None}
    )
    assert hook(client, secrets_[ids[0]]).status_code == 202
    assert hook(client, secrets_[ids[1]], event(order_id=b_order)).status_code == 202
    drained(app)
    with app.app_context():
        done = db.session.execute(db.select(SyncRun.link_id, SyncRun.status)).all()
        assert sorted(done) == [(ids[0], RunStatus.ABORTED), (ids[1], RunStatus.FINISHED)]
        b_record = db.session.execute(
            db.select(OrderRecord).filter_by(link_id=ids[1], order_id=b_order)
        ).scalar_one()
        assert b_record.state != OrderState.NEW
        assert db.session.execute(db.select(WebhookQueue.link_id)).scalars().all() == [ids[0]]
        # A rests from webhooks after its stopped run; B's next webhook is booked at once.
        assert runs.kick(app, ids[0]) is False
    assert hook(client, secrets_[ids[1]], event(order_id=b_order)).status_code == 202
    drained(app)
    with app.app_context():
        b_runs = db.session.execute(db.select(SyncRun).filter_by(link_id=ids[1])).scalars().all()
        assert len(b_runs) == 2
        a_runs = db.session.execute(db.select(SyncRun).filter_by(link_id=ids[0])).scalars().all()
        assert len(a_runs) == 1
