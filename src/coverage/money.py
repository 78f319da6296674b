"""Exact money and percentage values.

Money is integer cents end to end; percentages are exact decimals. Nothing here ever
touches a binary float, and every parser rejects what it cannot represent exactly.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


class Money(int):
    """An amount of integer cents read from a data file (so it can be told apart from counts)."""

    __slots__ = ()


def parse_money(text: object) -> Money:
    """Parse a dollar string such as "1500.00" into cents; reject floats, negatives, sub-cents."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise TypeError(
            f'money must be a quoted string of dollars such as "450.00" (so it stays exact), '
            f"got {text!r}"
        )
    cleaned = text.strip().replace(",", "").removeprefix("$")
    try:
        dollars = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f'money must look like "450.00", got {text!r}') from None
    if not dollars.is_finite():
        raise ValueError(f"money must be a finite amount, got {text!r}")
    if dollars < 0:
        raise ValueError(f"money must not be negative, got {text!r}")
    if dollars != dollars.quantize(CENT):
        raise ValueError(f"money has more than two decimal places, got {text!r}")
    return Money(int(dollars * 100))


def format_dollars(cents: int) -> str:
    """Cents as a plain two-decimal dollar string: 123456 -> "1234.56"."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def format_usd(cents: int) -> str:
    """Cents for people: 123456 -> "$1,234.56"."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{part:02d}"


def round_half_up(amount: Decimal) -> int:
    """Round a Decimal number of cents to whole cents, halves away from zero (SPEC 3)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Percent:
    """An exact percentage such as "20%", held as the fraction 0.20."""

    __slots__ = ("fraction",)

    def __init__(self, fraction: Decimal) -> None:
        self.fraction = fraction

    @classmethod
    def parse(cls, text: object) -> Percent:
        if not isinstance(text, str) or not text.strip().endswith("%"):
            raise TypeError(f'a percentage must be a string such as "20%", got {text!r}')
        try:
            value = Decimal(text.strip()[:-1])
        except InvalidOperation:
            raise ValueError(f'a percentage must look like "20%", got {text!r}') from None
        if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
            raise ValueError(f"a percentage must be between 0% and 100%, got {text!r}")
        return cls(value / 100)

    def of(self, cents: int) -> int:
        """This share of an amount, rounded half-up to the cent."""
        return round_half_up(self.fraction * cents)

    def __str__(self) -> str:
        return f"{(self.fraction * 100).normalize():f}%"

    def __repr__(self) -> str:
        return f"Percent({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Percent) and self.fraction == other.fraction

    def __hash__(self) -> int:
        return hash(self.fraction)
