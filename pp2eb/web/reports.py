"""Reports for the bookkeeper, each as a page and as CSV: the month's reconciliation and the
quarter's OSS return."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from pp2eb import dutchtime
from pp2eb.apis import errors as apierrors
from pp2eb.extensions import db
from pp2eb.models import OrderRecord
from pp2eb.reports import oss_return, reconcile
from pp2eb.runs import jobs
from pp2eb.web import current

bp = current.LinkBlueprint("reports", __name__, url_prefix="/reports")

_MONTH = re.compile(r"(\d{4})-(\d{2})")
CHART_WIDTH = 360  # the longest bar, in SVG units


def selected_month(text: str | None, today: date | None = None) -> date:
    """The first day of ``YYYY-MM``; this month when absent or not a month."""
    today = today or dutchtime.today()
    match = _MONTH.fullmatch((text or "").strip())
    if match and 1 <= int(match.group(2)) <= 12 and 2000 <= int(match.group(1)) <= 2999:
        return date(int(match.group(1)), int(match.group(2)), 1)
    return today.replace(day=1)


def known_numbers() -> dict[str, int]:
    """Every invoice number pp2eb has booked (or meant to book) an order with."""
    rows = db.session.execute(
        sa.select(OrderRecord.reference, OrderRecord.invoice_number, OrderRecord.order_id).where(
            OrderRecord.link_id == current.link().id
        )
    ).all()
    known: dict[str, int] = {}
    for reference, number, order_id in rows:
        for value in (number, reference):
            if value:
                known[value] = order_id
    return known


def invoice_dates() -> dict[int, date]:
    """The invoice date of every order pp2eb has seen: a credit invoice follows its original's
    VAT rules (``oss_from``)."""
    rows = db.session.execute(
        sa.select(OrderRecord.order_id, OrderRecord.invoice_date).where(
            OrderRecord.link_id == current.link().id, OrderRecord.invoice_date.is_not(None)
        )
    ).all()
    return {order_id: date.fromisoformat(day) for order_id, day in rows}


def build(month: date) -> reconcile.Report:
    """The month's report, read live from both accounts."""
    pp, eb = jobs.build_clients(current.link())
    settings = jobs.load_settings(current.link())
    with eb:
        return reconcile.run(pp, eb, settings, month, known_numbers(), invoice_dates())


def chart(report: reconcile.Report) -> list[dict]:
    """Two bars per VAT code (Plug&Pay, e-Boekhouden), scaled to the largest amount."""
    largest = max(
        (abs(v) for t in report.per_code for v in (t.plugandpay, t.eboekhouden)), default=Decimal(0)
    )
    bars = []
    for i, total in enumerate(report.per_code):
        widths = [
            int(abs(v) * CHART_WIDTH / largest) if largest else 0
            for v in (total.plugandpay, total.eboekhouden)
        ]
        bars.append({"total": total, "y": i * 44, "pp": widths[0], "eb": widths[1]})
    return bars


def _months(selected: date, count: int = 15, today: date | None = None) -> list[date]:
    today = (today or dutchtime.today()).replace(day=1)
    months, year, month = [], today.year, today.month
    for _i in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    if selected not in months:
        months.append(selected)
    return months


def _made(make: Callable[[date], Any], period: date) -> Any:
    """The report ``make`` makes of ``period``, or None with the reason flashed."""
    try:
        return make(period)
    except jobs.NotReady as exc:
        flash(str(exc), "error")
    except apierrors.ApiError as exc:
        flash(_("The report could not be made: %(error)s", error=str(exc)), "error")
    return None


@bp.get("/reconciliation")
def reconciliation():
    """The month's reconciliation with a chart and every differing order."""
    month = selected_month(request.args.get("month"))
    report = _made(build, month)
    return render_template(
        "reports/reconciliation.html",
        month=month,
        months=_months(month),
        report=report,
        bars=chart(report) if report else [],
    )


def decimal_comma(value: Decimal | None) -> str:
    """``1234.5`` as ``1234,50``: what Dutch Excel reads as a number."""
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def to_csv(report: reconcile.Report) -> str:
    """The report as ``;``-separated CSV with decimal commas (Dutch Excel opens it as is)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    money = decimal_comma
    writer.writerow(
        [
            _("Section"),
            _("Code or number"),
            _("Order"),
            "Plug&Pay",
            "e-Boekhouden",
            _("Difference"),
            _("VAT Plug&Pay"),
            _("VAT e-Boekhouden"),
            _("of which VAT rounding"),
        ]
    )
    sections = ((_("VAT code"), report.per_code), (_("OSS country"), report.per_country))
    for section, totals in sections:
        for t in totals:
            figures = (
                t.plugandpay,
                t.eboekhouden,
                t.difference,
                t.plugandpay_vat,
                t.eboekhouden_vat,
                t.rounding,
            )
            writer.writerow([section, t.key, "", *map(money, figures)])
    kinds = {
        reconcile.MISSING: _("missing"),
        reconcile.EXTRA: _("extra"),
        reconcile.DIFFERENT: _("different"),
    }
    for d in report.orders:
        figures = (d.plugandpay, d.eboekhouden, d.difference)
        writer.writerow(
            [kinds[d.kind], d.invoice_number, d.order_id or "", *map(money, figures), "", "", ""]
        )
    pp, eb = report.plugandpay_total, report.eboekhouden_total
    writer.writerow([_("Total"), "", "", money(pp), money(eb), money(eb - pp), "", "", ""])
    return out.getvalue()


@bp.get("/reconciliation.csv")
def reconciliation_csv():
    """The month's reconciliation as CSV for the accountant."""
    month = selected_month(request.args.get("month"))
    try:
        report = build(month)
    except (jobs.NotReady, apierrors.ApiError):
        # Back to the page, which says what went wrong (a download cannot show it).
        return redirect(url_for("reports.reconciliation", month=f"{month:%Y-%m}"))
    name = f"pp2eb-reconciliation-{month:%Y-%m}.csv"
    # The BOM makes Excel read the file as UTF-8 (names with accents).
    return Response(
        "\ufeff" + to_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- the OSS return ---------------------------------------------------------------------------


def _quarters(selected: date, count: int = 8) -> list[date]:
    first = oss_return.quarter_bounds(dutchtime.today())[0]
    quarters = []
    for _i in range(count):
        quarters.append(first)
        first = oss_return.quarter_bounds(date.fromordinal(first.toordinal() - 1))[0]
    return quarters if selected in quarters else [*quarters, selected]


def build_oss(quarter: date) -> oss_return.OssReturn:
    """The quarter's OSS return, read live from both accounts."""
    pp, eb = jobs.build_clients(current.link())
    settings = jobs.load_settings(current.link())
    with eb:
        return oss_return.run(pp, eb, settings, quarter, known_numbers(), invoice_dates())


@bp.get("/oss")
def oss():
    """The quarter's OSS return: base and VAT per country and rate, checked against Plug&Pay."""
    quarter = oss_return.parse_quarter(request.args.get("quarter"), dutchtime.today())
    report = _made(build_oss, quarter)
    return render_template(
        "reports/oss.html",
        quarter=quarter,
        quarters=_quarters(quarter),
        name=oss_return.quarter_name,
        report=report,
    )


def oss_csv(report: oss_return.OssReturn) -> str:
    """The OSS return as ``;``-separated CSV with decimal commas, like the reconciliation."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    money = decimal_comma
    header = [_("Section"), _("Country or invoice"), _("VAT rate"), _("Base e-Boekhouden")]
    header += [_("VAT e-Boekhouden"), _("Base Plug&Pay"), _("VAT Plug&Pay")]
    writer.writerow(header + [_("Difference in base"), _("Difference in VAT")])
    for x in report.lines:
        figures = [x.eboekhouden_base, x.eboekhouden_vat, x.plugandpay_base, x.plugandpay_vat]
        figures += [x.base_difference, x.vat_difference]
        rate = x.rate.replace(".", ",")
        writer.writerow([_("Country and rate"), x.country, rate, *map(money, figures)])
    sides = [(side, what) for side in ("eboekhouden", "plugandpay") for what in ("base", "vat")]
    totals = [money(report.total(side, what)) for side, what in sides]
    writer.writerow([_("Total"), "", "", *totals, "", ""])
    kinds = {oss_return.MISSING: _("missing"), oss_return.EXTRA: _("extra")}
    kinds[oss_return.DIFFERENT] = _("different")
    for d in report.orders:
        figures = [money(d.eboekhouden), "", money(d.plugandpay), "", money(d.difference), ""]
        writer.writerow([kinds[d.kind], d.invoice_number, "", *figures])
    return out.getvalue()


@bp.get("/oss.csv")
def oss_csv_download():
    """The quarter's OSS return as CSV for the accountant."""
    quarter = oss_return.parse_quarter(request.args.get("quarter"), dutchtime.today())
    try:
        report = build_oss(quarter)
    except (jobs.NotReady, apierrors.ApiError):
        return redirect(url_for("reports.oss", quarter=oss_return.quarter_name(quarter)))
    name = f"pp2eb-oss-{oss_return.quarter_name(quarter)}.csv"
    return Response(
        "\ufeff" + oss_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
