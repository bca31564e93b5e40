"""The webhook Plug&Pay calls: public (no login, no CSRF token), guarded by the secret in its URL;
the secret also tells which link the webhook is for (each link has its own).

It only checks and queues: 404 for a wrong secret (as for any unknown address), 413/400/422 for a
body that is not a webhook pp2eb handles, 429 when too many orders come at once; else the order
is queued, the answer is 202 at once, and a background run books it (``pp2eb/webhooks``).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request

from pp2eb.extensions import csrf
from pp2eb.runs import webhook_inbox as inbox
from pp2eb.runs import webhooks as runs

bp = Blueprint("hooks", __name__, url_prefix="/hooks")
RETRY_AFTER = "60"


@bp.post("/plugandpay/<secret>")
@csrf.exempt
def plugandpay(secret: str):
    """Take a Plug&Pay webhook: queue the order and answer 202."""
    link = inbox.link_for_secret(secret)
    if link is None:
        abort(404)
    if (request.content_length or 0) > inbox.MAX_BODY:
        return _error(413, "The body is too large.")
    data = request.stream.read(inbox.MAX_BODY + 1)
    if len(data) > inbox.MAX_BODY:
        return _error(413, "The body is too large.")
    try:
        event = inbox.parse(data)
        inbox.enqueue(link, event)
    except inbox.BadPayload as exc:
        return _error(exc.status, str(exc))
    except inbox.Refused as exc:
        return jsonify({"error": str(exc)}), 429, {"Retry-After": RETRY_AFTER}
    runs.kick(current_app._get_current_object(), link.id)
    return jsonify({"queued": event.order_id}), 202


def _error(status: int, message: str):
    return jsonify({"error": message}), status
