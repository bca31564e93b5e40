"""Why an order cannot be booked as it is, and how a reason quotes what it is about.

``MappingError`` is raised wherever the mapping finds a problem: reading the JSON
(``orderjson``, ``figures``, ``readings``), checking the totals, deciding the VAT, building the
rows. ``shown`` and ``cut`` keep a quoted value (and a field e-Boekhouden limits) short. A module
of its own, importing nothing of pp2eb, so that the modules that read an order need nothing of
the modules that write a booking.
"""

from __future__ import annotations

QUOTED = 60  # characters of a number or label quoted in a reason


class MappingError(Exception):
    """An order that cannot be booked as it is; ``reason`` says why, ``fix`` what to do.

    ``setting`` names the settings key whose page fixes it (``vat_map``, ``oss_ledgers``, ...),
    or is None when the order itself must be corrected in Plug&Pay.
    """

    def __init__(self, reason: str, *, fix: str | None = None, setting: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.fix = fix
        self.setting = setting

    def __str__(self) -> str:
        return f"{self.reason} Fix: {self.fix}" if self.fix else self.reason


def shown(value: object, limit: int = QUOTED) -> str:
    """``value`` as a message quotes it: text in quotes, and cut short, so that a 10,000-character
    field does not become a 10,000-character reason."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cut(text: str, limit: int) -> str:
    """``text`` on one line, shortened with an ellipsis to at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
