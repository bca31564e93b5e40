"""Who starts the engine: the schedule, the browser, the command line and webhooks.

* ``jobs``: the one way to start a run, shared by all of them;
* ``scheduler``: one APScheduler job that ticks every minute and syncs when it is time;
* ``background``: runs started from the browser ("Sync now", "Export", "Retry");
* ``webhook_inbox``: a Plug&Pay webhook received: its secret, its payload, the queue;
* ``webhooks``: the background run that books the queued orders through the engine.

A webhook only speeds things up: the scheduled sync still finds every order, so a webhook that
never arrives, or is refused, loses nothing. Exactly once remains the engine's job. The webhook
rule in Plug&Pay that calls this app is set up in ``pp2eb.setup.webhook_rule``.
"""
