"""Money parsing is strict and exact; percentages are exact decimals rounded half-up per use."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coverage.money import Percent, format_usd, parse_money


@pytest.mark.parametrize(
    ("text", "cents"),
    [("450.00", 45000), ("1,500.00", 150000), ("$1,500.5", 150050), ("0", 0), (" 7.10 ", 710)],
)
def test_plain_dollars_parse_to_exact_cents(text: str, cents: int) -> None:
    assert parse_money(text) == cents


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e3", "must look like"),
        ("+5", "must look like"),
        ("1_000", "must look like"),
        ("1,50.00", "must look like"),
        ("-0", "negative"),
        ("12.345", "two decimal places"),
        (450.0, "quoted string"),
    ],
)
def test_anything_else_is_refused_with_the_reason(text: object, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        parse_money(text)


def test_percent_of_rounds_half_up_to_the_cent() -> None:
    # 12.5% of $0.04 = 0.5 cent -> 1 cent (half-up); 12.5% of $0.03 = 0.375 cent -> 0.
    assert Percent.parse("12.5%").of(4) == 1
    assert Percent.parse("12.5%").of(3) == 0
    assert str(Percent.parse("7.25%")) == "7.25%"
    for bad in ("1e1%", "-5%", "120%", "NaN%"):
        with pytest.raises(ValueError):
            Percent.parse(bad)
    assert format_usd(-123456) == "-$1,234.56"


@given(
    st.decimals(min_value=0, max_value=100, places=3).map(lambda value: Percent.parse(f"{value}%")),
    st.integers(-(10**12), 10**12),
)
def test_percent_of_is_the_exact_share_rounded_half_up(percent: Percent, cents: int) -> None:
    """Percent.of works in integers; Decimal's ROUND_HALF_UP on the exact product is the reference."""
    exact = (percent.fraction * cents).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert percent.of(cents) == int(exact)
