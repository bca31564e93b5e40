from decimal import Decimal

import pytest

from pp2eb.jsonutil import dumps, loads


def test_decimal_written_as_number_digit_for_digit():
    text = dumps({"amount": Decimal("12.10"), "rows": [Decimal("-0.01"), 3, "x"]})
    assert text == '{"amount": 12.10, "rows": [-0.01, 3, "x"]}'


def test_numbers_read_as_decimal():
    data = loads('{"a": 0.1, "b": 2, "c": "0.2"}')
    assert data == {"a": Decimal("0.1"), "b": 2, "c": "0.2"}
    assert isinstance(data["a"], Decimal)


def test_a_string_cannot_pass_for_a_number():
    text = dumps({"s": "dec-0123456789abcdef:5", "d": Decimal("1.5")})
    assert loads(text) == {"s": "dec-0123456789abcdef:5", "d": Decimal("1.5")}


def test_non_finite_refused():
    with pytest.raises(ValueError):
        dumps(Decimal("NaN"))


def test_a_marker_of_another_call_stays_a_string():
    # Looks exactly like a marked Decimal, but with a token this call did not make.
    text = dumps({"s": "dec-00000000deadbeef:12.50"})
    assert loads(text) == {"s": "dec-00000000deadbeef:12.50"}
