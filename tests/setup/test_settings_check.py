"""Settings checked against an e-Boekhouden account: each ledger, VAT code and template named."""

from __future__ import annotations

from dataclasses import replace

from pp2eb.mapping.booking import Ledger, ReferenceData, Template
from pp2eb.mapping.settings import USUAL_CODES, Settings
from pp2eb.setup.settings_check import check_against, usual_codes, with_usual_codes
from tests.mapping.test_settings import EXAMPLE, PAYMENTS

LEDGERS = [
    Ledger(1, "1300", "Debiteuren", "DEB"),
    Ledger(2, "1100", "Bank", "FIN"),
    Ledger(3, "1640", "Btw België (OSS)", "BAL"),
    Ledger(4, "1641", "Btw Duitsland (OSS)", "BAL"),
    Ledger(5, "1642", "Btw Frankrijk (OSS)", "BAL"),
    Ledger(6, "8000", "Omzet", "VW"),
    Ledger(7, "8010", "Omzet cursussen", "VW"),
    Ledger(8, "8050", "Verzendkosten", "VW"),
    Ledger(9, "8090", "Afrondingsverschillen", "VW"),
]
REFERENCE = ReferenceData.build(LEDGERS, [Template(1, "Standaard")])


def test_check_against_a_matching_account():
    assert check_against(Settings.from_dict(EXAMPLE), REFERENCE) == []


def test_check_against_names_each_problem():
    settings = Settings.from_dict(
        {
            **EXAMPLE,
            "insertion": "invoice",
            "invoice_template": "Luxe",
            "debtor_ledger": "8000",
            "revenue_ledger": "1100",
            "shipping_ledger": "8055",
            "rounding_ledger": "1641",
            "product_ledgers": {"12": "1300"},
            "oss_ledgers": {"BE": "8000", "DE": "1641"},
            "vat_map": {
                "NL:21": "LAAG_VERK_9",
                "NL:9": "LAAG_VERK_9",
                "NL:0": "HOOG_INK_21",
                "reverse_charge": "VERL_VERK",
                "outside_eu": "HOOG_VERK_21",
            },
        }
    )
    assert check_against(settings, REFERENCE) == [
        "debtor_ledger: ledger 8000 (Omzet) has category VW; it must be a debtor ledger (DEB).",
        "revenue_ledger: ledger 1100 (Bank) has category FIN; it must be a profit and loss "
        "ledger (VW).",
        "shipping_ledger: ledger 8055 does not exist in e-Boekhouden.",
        "rounding_ledger: ledger 1641 (Btw Duitsland (OSS)) has category BAL; it must be a "
        "profit and loss ledger (VW).",
        "product_ledgers[12]: ledger 1300 (Debiteuren) has category DEB; it must be a profit "
        "and loss ledger (VW).",
        "oss_ledgers[BE]: ledger 8000 (Omzet) has category VW; it must be a balance sheet "
        "ledger (BAL).",
        "vat_map[NL:21]: e-Boekhouden books LAAG_VERK_9 at 9%, not 21%.",
        "vat_map[NL:0]: 'HOOG_INK_21' is not an e-Boekhouden sales VAT code.",
        "vat_map[outside_eu_goods]: e-Boekhouden books HOOG_VERK_21 at 21%, not 0%.",
        "vat_map[outside_eu_services]: e-Boekhouden books HOOG_VERK_21 at 21%, not 0%.",
        "invoice_template: there is no invoice template named 'Luxe' in e-Boekhouden.",
    ]


def test_template_matters_only_for_invoices():
    settings = Settings.from_dict({**EXAMPLE, "invoice_template": "Luxe"})
    assert check_against(settings, REFERENCE) == []
    assert check_against(replace(settings, insertion="invoice"), REFERENCE) == [
        "invoice_template: there is no invoice template named 'Luxe' in e-Boekhouden."
    ]


def test_payment_ledgers_must_be_bank_or_cash_ledgers():
    ledgers = [*LEDGERS, Ledger(10, "1650", "Tussenrekening Mollie", "FIN")]
    ledgers += [Ledger(11, "1660", "Tussenrekening Stripe", "BAL")]
    reference = ReferenceData.build(ledgers, [Template(1, "Standaard")])
    settings = Settings.from_dict({**EXAMPLE, **PAYMENTS, "payment_fallback_ledger": "1999"})
    assert check_against(settings, reference) == [
        "payment_ledgers[stripe]: ledger 1660 (Tussenrekening Stripe) has category BAL; it must "
        "be a bank or cash ledger (FIN), e.g. a tussenrekening.",
        "payment_fallback_ledger: ledger 1999 does not exist in e-Boekhouden.",
    ]
    fine = {**PAYMENTS, "payment_ledgers": {"mollie": "1650"}}
    assert check_against(Settings.from_dict({**EXAMPLE, **fine}), reference) == []


def test_a_discount_ledger_must_be_a_profit_and_loss_ledger():
    reference = ReferenceData.build(LEDGERS, [Template(1, "Standaard")])
    assert check_against(Settings.from_dict(EXAMPLE), reference) == []  # none set: nothing asked
    settings = Settings.from_dict({**EXAMPLE, "discount_ledger": "1300"})
    [problem] = check_against(settings, reference)
    assert problem.startswith("discount_ledger: ledger 1300 (") and "must be" in problem


def test_usual_codes_are_only_those_the_account_has():
    assert usual_codes(REFERENCE) == USUAL_CODES
    # No 8090, 8050 a balance sheet ledger, no templates: none of the three is suggested.
    ledgers = [x for x in LEDGERS if x.code not in ("8090", "8050")]
    ledgers.append(Ledger(10, "8050", "Vooruitontvangen", "BAL"))
    found = usual_codes(ReferenceData.build(ledgers, []))
    assert found == {
        "debtor_ledger": "1300",
        "revenue_ledger": "8000",
        "vat_map": USUAL_CODES["vat_map"],
    }


def test_a_file_without_the_optional_ledgers_fits_an_account_without_them():
    reference = ReferenceData.build([x for x in LEDGERS if x.code != "8090"], [])
    data = {k: v for k, v in EXAMPLE.items() if k != "shipping_ledger"}
    settings = Settings.from_dict(with_usual_codes(data, reference))
    assert (settings.shipping_ledger, settings.rounding_ledger) == ("8050", None)
    assert check_against(settings, reference) == []
    # What the file itself names is checked, as before.
    named = Settings.from_dict(with_usual_codes({**data, "rounding_ledger": "8090"}, reference))
    assert check_against(named, reference) == [
        "rounding_ledger: ledger 8090 does not exist in e-Boekhouden."
    ]
