"""Every name a template can use beyond its view's arguments, registered in one place.

``register(app)`` (called by ``create_app``) tells Jinja about the filters, globals and context
processors; the helpers themselves stay with the views whose words they are. None of them does
I/O: what a page shows from an API is looked up by its view before rendering, so a slow or
unreachable API never breaks a page half-way (``tests/web/test_templates.py`` checks both).
Flask-Babel (``_``, ``ngettext``) and Flask-WTF (``csrf_token``) add their own.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale

from pp2eb import dutchtime, states


def register(app: Flask) -> None:
    """Register the template filters, globals and context processors on ``app``."""
    from pp2eb.web import connect, current, dashboard, export, htmx, wizard
    from pp2eb.web.languages import LANGUAGES

    filters = {
        "local_time": dutchtime.show,  # every time a person reads
        "account": connect.account,
        "vat_rounding": connect.vat_rounding_label,
        "run_kind": dashboard.run_kind,
        "state_label": states.state_label,
        "payment_label": states.payment_label,
    }
    for name, function in filters.items():
        app.add_template_filter(function, name)
    template_globals = {
        "current_locale": get_locale,
        "languages": LANGUAGES,
        "country_name": htmx.country_name,
        "is_running": dashboard.is_running,
        "processed": export.processed,
        # The link a page is about (None on the overview), and whether the user sees several.
        "link_of_page": current.of_page,
        "several_links": current.several,
        # The states, to compare with (``OrderState.BOOKED``) instead of strings.
        "OrderState": states.OrderState,
        "PaymentState": states.PaymentState,
        "AttemptOutcome": states.AttemptOutcome,
        "RunStatus": states.RunStatus,
        "RunCount": states.RunCount,
        "ORDER_FILTERS": states.ORDER_FILTERS,
    }
    app.jinja_env.globals.update(template_globals)
    app.context_processor(wizard.progress_on_connect_pages)
