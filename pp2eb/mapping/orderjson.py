"""Strict readers for fields of decoded JSON, each failing with a MappingError naming the field.

Money is read from decimal strings (what Plug&Pay sends), ``Decimal`` (``jsonutil.loads``) or
integers, never from floats: a float has already lost the exact cents. Where a value comes in a
form the record does not show but that reads the same (an id as text, a percentage as a number,
an include left out), it is taken and a note says so (``Fields.notes``, shared by every reader of
one document), so that a run can log which reading it took.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from pp2eb.mapping.countries import ISO_COUNTRIES
from pp2eb.mapping.problems import MappingError, shown
from pp2eb.mapping.vatcodes import CENT

_NUMBER = re.compile(r"-?\d{1,15}(\.\d{1,15})?")
ID_TEXT = re.compile(r"[1-9][0-9]{0,17}")  # an id written as text
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Larger than any real order; keeps Decimal arithmetic far inside its precision.
_MAX_AMOUNT = Decimal(10) ** 12
_PERCENT_STEP = Decimal("0.0001")


def describe(value: object) -> str:
    """A few words for what a JSON value is, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Fields:
    """One JSON object and its path (``order.items[2].tax``), read one typed field at a time."""

    def __init__(self, data: object, where: str, notes: set[str] | None = None):
        if not isinstance(data, dict):
            raise MappingError(f"{where} is {describe(data)}, expected an object.")
        self.data = data
        self.where = where
        self.notes = notes if notes is not None else set()

    def child(self, data: object, where: str) -> Fields:
        """A reader of a value inside this one, sharing its notes."""
        return Fields(data, where, self.notes)

    def _bad(self, key: str, expected: str) -> MappingError:
        if key not in self.data:
            return MappingError(f"{self.where}.{key} is missing ({expected} expected).")
        value = describe(self.data[key])
        return MappingError(f"{self.where}.{key} is {value}, expected {expected}.")

    def obj(self, key: str) -> Fields:
        """A required object."""
        value = self.data.get(key)
        if not isinstance(value, dict):
            raise self._bad(key, "an object")
        return self.child(value, f"{self.where}.{key}")

    def opt_obj(self, key: str) -> Fields | None:
        """An object that may be missing or null."""
        return None if self.data.get(key) is None else self.obj(key)

    def list(self, key: str, *, required: bool = True) -> list[Fields]:
        """A list of objects; with ``required=False`` a missing or null list is empty."""
        value = self.data.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list):
            raise self._bad(key, "a list")
        return [self.child(item, f"{self.where}.{key}[{i}]") for i, item in enumerate(value)]

    def include(self, key: str) -> list[Fields]:
        """The list an ``include=`` asked for: missing or null is read as empty, and noted.

        inferred: the record does not say whether an include with nothing in it is answered as
        an empty list or left out.
        """
        if self.data.get(key) is None:
            state = "null" if key in self.data else "missing from the answer"
            self.notes.add(f"{key}: {state}, read as none")
        return self.list(key, required=False)

    def id(self, key: str) -> int:
        """A required id: a whole number, or one written as text (noted)."""
        value = self.data.get(key)
        if isinstance(value, str) and ID_TEXT.fullmatch(value):
            self.notes.add("ids read from text (the record shows numbers)")
            return int(value)
        return self.int(key)

    def opt_id(self, key: str) -> int | None:
        """An id or null."""
        return None if self.data.get(key) is None else self.id(key)

    def int(self, key: str) -> int:
        """A required whole number."""
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(key, "a whole number")
        return value

    def opt_int(self, key: str) -> int | None:
        """A whole number or null."""
        return None if self.data.get(key) is None else self.int(key)

    def opt_str(self, key: str) -> str | None:
        """Text or null."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._bad(key, "text")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> str:
        """One of ``options``; ``default`` (if given) when missing or null."""
        value = self.data.get(key)
        if value is None and default is not None:
            return default
        if value not in options:
            shown = repr(value) if isinstance(value, str) else describe(value)
            if key not in self.data:
                shown = "missing"
            raise MappingError(
                f"{self.where}.{key} is {shown}, expected one of {', '.join(options)}."
            )
        return value

    def opt_date(self, key: str) -> date | None:
        """A ``YYYY-MM-DD`` date or null."""
        value = self.opt_str(key)
        if value is None:
            return None
        if _DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise MappingError(f"{self.where}.{key} is {shown(value)}, expected a date YYYY-MM-DD.")

    def country(self, key: str) -> str:
        """A required ISO 3166 alpha-2 country code."""
        value = self.opt_country(key)
        if value is None:
            raise self._bad(key, "a country code")
        return value

    def opt_country(self, key: str) -> str | None:
        """An ISO 3166 alpha-2 country code or null."""
        value = self.opt_str(key)
        if value is None:
            return None
        if value.upper() not in ISO_COUNTRIES:
            raise MappingError(f"{self.where}.{key} is {shown(value)}, not a known country code.")
        return value.upper()

    def _decimal(self, key: str, expected: str, plural: str) -> Decimal:
        value = self.data.get(key)
        if isinstance(value, bool) or value is None:
            raise self._bad(key, expected)
        if isinstance(value, float):
            raise MappingError(
                f"{self.where}.{key} was read as a float ({shown(value)}); read the JSON with "
                "Decimal numbers so no cent is lost."
            )
        if isinstance(value, str):
            if not _NUMBER.fullmatch(value):
                raise MappingError(f"{self.where}.{key} is {shown(value)}, expected {expected}.")
            number = Decimal(value)
        elif isinstance(value, (int, Decimal)):
            self.notes.add(f"{plural} read from numbers (the record shows decimal text)")
            number = Decimal(value)
        else:
            raise self._bad(key, expected)
        if not number.is_finite() or abs(number) >= _MAX_AMOUNT:
            raise MappingError(
                f"{self.where}.{key} is {shown(value)}, out of range for {expected}."
            )
        return number

    def money(self, key: str) -> Decimal:
        """A required amount in euros with at most 2 decimals, returned with exactly 2."""
        number = self._decimal(key, "an amount", "amounts")
        cents = number.quantize(CENT)
        if cents != number:
            raise MappingError(
                f"{self.where}.{key} is {shown(number)}, which has more than 2 decimals; "
                "an amount must be whole cents."
            )
        return cents if cents else Decimal("0.00")  # no "-0.00" on the money path

    def percentage(self, key: str) -> Decimal:
        """A required VAT percentage, 0 up to (not including) 100."""
        number = self._decimal(key, "a percentage", "tax rate percentages")
        if not 0 <= number < 100 or number.quantize(_PERCENT_STEP) != number:
            raise MappingError(f"{self.where}.{key} is {shown(number)}, not a VAT percentage.")
        return number
