"""The one way to start a run, shared by ``flask sync``, "Sync now" and the scheduler.

Builds the two clients from a link's stored credentials and its settings from the database,
then hands them to the engine, and after the run mails what went wrong
(``pp2eb.alerts.dispatch``, which never raises). Needs an app context; the engine itself does not.
"""

from __future__ import annotations

import logging
import time
from datetime import date

from flask import current_app

from pp2eb.alerts import dispatch as alerting
from pp2eb.apis.eboekhouden import EBoekhoudenClient
from pp2eb.apis.plugandpay import PlugAndPayClient
from pp2eb.engine.runstate import RunResult
from pp2eb.engine.store import Store
from pp2eb.engine.sync import run_once
from pp2eb.extensions import db
from pp2eb.mapping.settings import SettingsError
from pp2eb.models import Credential, Link
from pp2eb.setup import connections, shopsettings

logger = logging.getLogger(__name__)

# How a run waits: a 429's Retry-After, a retry's backoff. Each run waits in its own thread, so
# one link's waiting never holds up another's. A seam for tests, which record the waits.
sleep = time.sleep


class NotReady(Exception):
    """A run cannot start: an account is not connected or the settings are incomplete."""


def build_clients(link: Link) -> tuple[PlugAndPayClient, EBoekhoudenClient]:
    """Clients for both connected accounts of ``link``; NotReady names what is missing."""
    stored = {s: connections.get_credential(link, s) for s in connections.SERVICES}
    missing = [name for service, name in connections.SERVICES.items() if stored[service] is None]
    if missing:
        raise NotReady("Connect " + " and ".join(missing) + " first.")
    timeout = current_app.config["HTTP_TIMEOUT"]
    pp_cred, eb_cred = stored[Credential.PLUGANDPAY], stored[Credential.EBOEKHOUDEN]
    try:
        pp_key, eb_token = connections.read_secret(pp_cred), connections.read_secret(eb_cred)
    except connections.SecretLost as exc:
        raise NotReady(str(exc)) from exc
    pp = PlugAndPayClient(pp_key, pp_cred.base_url, timeout=timeout, sleep=sleep)
    # Few attempts per call: the engine waits out a 429 itself, renewing its lease meanwhile.
    eb = EBoekhoudenClient(eb_token, eb_cred.base_url, timeout=timeout, max_attempts=2, sleep=sleep)
    return pp, eb


def load_settings(link: Link):
    """The link's complete settings; NotReady lists what the set-up still lacks."""
    try:
        return shopsettings.load(link)
    except SettingsError as exc:
        raise NotReady("Finish the set-up first: " + "; ".join(exc.problems)) from exc


def run(
    kind: str = "sync",
    *,
    link: Link,
    since: date | None = None,
    until: date | None = None,
    order_ids: list[int] | None = None,
) -> RunResult:
    """Run the engine once for ``link`` with its stored credentials and settings, then send
    its alerts."""
    pp, eb = build_clients(link)
    settings = load_settings(link)
    with eb:
        result = run_once(
            pp,
            eb,
            Store(db.session, link.id),
            settings,
            kind=kind,
            since=since,
            until=until,
            order_ids=order_ids,
            sleep=sleep,
        )
    alerting.after_run(link, result)
    return result
