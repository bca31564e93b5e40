"""The e-Boekhouden relation for an order's customer, and the customer code rule.

Pure helpers for the engine, which finds a relation by its stored link or by ``?email=`` and
otherwise creates one from ``relation_draft(order)``. With ``customer_codes=name`` the code is
``customer_code(draft, attempt)``: the first 5 letters of the name, plus a number from the
second attempt on, for when e-Boekhouden answers REL_049 (code exists). Under reverse charge
``relation_update`` gives an existing relation the buyer's VAT id and type B.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from pp2eb.mapping.order import Order

# CreateRelation maxLength values from the OpenAPI subset.
MAX_CODE = 15
_MAX = {"name": 100, "contact": 50, "address": 150, "postal_code": 50, "city": 50}
_MAX |= {"country": 50, "email": 150, "vat_number": 50}
# The properties of CreateRelation in the OpenAPI subset: the body of POST and PATCH
# /v1/relation (a test keeps this list equal to the spec's).
RELATION_FIELDS = (
    *("type", "code", "name", "salutation", "contact", "gender"),
    *("address", "postalCode", "city", "country", "address2", "postalCode2", "city2"),
    *("country2", "phoneNumber", "mobilePhoneNumber", "faxNumber", "emailAddress"),
    *("emailAddressInvoice", "emailAddressReminder", "website", "note", "vatNumber"),
    *("inactive", "termOfPayment", "companyRegistrationNumber", "iban", "bic"),
    *(f"freeText{n}" for n in range(1, 11)),
    *("doNotReceiveNewsletters", "ledgerId", "mandate", "mandateType", "mandateId"),
    *("mandateSignedDate", "peppolId"),
)
CODE_LETTERS = 5
# When a name has no letters at all, the code still needs a stem ("klant" is Dutch for customer).
FALLBACK_CODE = "KLANT"
# Letters NFKD does not split into a base letter and an accent.
_FOLD = str.maketrans({"Ø": "O", "Æ": "AE", "Œ": "OE", "Ł": "L", "Đ": "D", "Þ": "TH", "Ð": "D"})


@dataclass(frozen=True)
class RelationDraft:
    """A relation to create: ``B`` (business) or ``P`` (person), fields cut to the API's limits.

    ``company``, ``firstname`` and ``lastname`` are kept as Plug&Pay has them, for the code rule.
    """

    type: str
    name: str
    contact: str | None
    address: str | None
    postal_code: str | None
    city: str | None
    country: str | None
    email: str | None
    vat_number: str | None
    company: str | None
    firstname: str | None
    lastname: str | None


def _clean(value: str | None, field: str) -> str | None:
    """Trimmed text cut to the API's maximum for ``field``; None when empty."""
    if value is None:
        return None
    value = " ".join(value.split())
    return value[: _MAX[field]] or None


def relation_draft(order: Order) -> RelationDraft:
    """The relation to create for the order's billing contact (B with a company, P without)."""
    contact, address = order.contact, order.address
    person = " ".join(p for p in (contact.firstname, contact.lastname) if p and p.strip())
    company = _clean(contact.company, "name")
    name = company or _clean(person, "name") or _clean(contact.email, "name")
    street = " ".join(p for p in (address.street, address.housenumber) if p and p.strip())
    return RelationDraft(
        type="B" if company else "P",
        name=name or f"Plug&Pay klant {order.id}",
        contact=_clean(person, "contact") if company else None,
        address=_clean(street, "address"),
        postal_code=_clean(address.zipcode, "postal_code"),
        city=_clean(address.city, "city"),
        country=_clean(address.country, "country"),
        email=_clean(contact.email, "email"),
        vat_number=_clean(contact.vat_id_number, "vat_number"),
        company=contact.company,
        firstname=contact.firstname,
        lastname=contact.lastname,
    )


def code_letters(text: str | None) -> str:
    """Upper-case A-Z letters of ``text`` with accents folded (``Zoë Müller`` → ``ZOEMULLER``)."""
    if not text:
        return ""
    # upper() first: it turns ß into SS before the fold.
    folded = unicodedata.normalize("NFKD", text.upper().translate(_FOLD))
    return "".join(ch for ch in folded if "A" <= ch <= "Z")


def customer_code(draft: RelationDraft, attempt: int = 0) -> str:
    """The code for the ``attempt``-th try: ``JANSE``, then ``JANSE1``, ``JANSE2``, ...

    The stem is the first 5 letters of the company name for a business, else of the last name
    followed by the first name (``Bo Li`` → ``LIBO``); ``KLANT`` when no name has letters.
    """
    if attempt < 0:
        raise ValueError("attempt must be 0 or more")
    person = code_letters(draft.lastname) + code_letters(draft.firstname)
    if draft.type == "B":
        letters = code_letters(draft.company) or person
    else:
        letters = person or code_letters(draft.name)
    stem = letters[:CODE_LETTERS] or FALLBACK_CODE
    suffix = str(attempt) if attempt else ""
    return stem[: MAX_CODE - len(suffix)] + suffix


def relation_payload(draft: RelationDraft, *, code: str | None = None) -> dict:
    """The ``POST /v1/relation`` body; without ``code`` e-Boekhouden assigns one."""
    fields = {
        "type": draft.type,
        "code": code,
        "name": draft.name,
        "contact": draft.contact,
        "address": draft.address,
        "postalCode": draft.postal_code,
        "city": draft.city,
        "country": draft.country,
        "emailAddress": draft.email,
        "vatNumber": draft.vat_number,
    }
    return {key: value for key, value in fields.items() if value is not None}


def vat_id_key(vat_id: str | None) -> str:
    """A VAT id as compared: letters and digits only, upper-case (``be 0123.456.789``)."""
    # inferred: spaces, dots and dashes are only how a person writes it; VIES ignores them.
    return re.sub(r"[^0-9A-Z]", "", (vat_id or "").upper())


def relation_update(current: Mapping, draft: RelationDraft, vat_id: str) -> dict:
    """The ``PATCH /v1/relation/{id}`` body that gives relation ``current`` the VAT id and type B.

    Every field the relation has is sent back as it is: the spec does not say whether PATCH
    changes only the fields sent or replaces the relation, and this body is right either way.
    A relation that was a person (P) takes the company's name from the order, with the person
    as contact, because an intra-EU invoice names the business that owes the VAT; a business
    relation keeps the name someone gave it.
    """
    # inferred: PATCH replacing every field is possible (docs/reference/eboekhouden-api.md §3.3 says
    # only "takes the same body, name required"), so nothing is left out that the relation has.
    body = {key: current[key] for key in RELATION_FIELDS if current.get(key) is not None}
    if current.get("type") != "B" and draft.company:
        body["name"] = draft.name  # the company (relation_draft)
        if not body.get("contact") and draft.contact:
            body["contact"] = draft.contact
    body["name"] = body.get("name") or draft.name
    body.update(type="B", vatNumber=vat_id)
    return body
