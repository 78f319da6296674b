"""Exact money and percentage values.

Money is integer cents end to end; percentages are exact decimals. Nothing here ever
touches a binary float, and every parser rejects what it cannot represent exactly.
"""

from __future__ import annotations

import re
from decimal import Decimal

# Plain dollars: optional "$", digits (or 1,234 groups), optional cents. No exponents, signs or "_".
# ASCII digits only (re.ASCII: "٣" is not a digit here); MAX_MONEY_CHARS keeps int() in range.
# The batch reads dollar cells with DOLLARS too, as a polars (Rust) regex, where only [0-9] is ASCII.
_PERCENT = re.compile(r"\d+(?:\.\d+)?%", re.ASCII)
DOLLARS = r"\$?(?P<whole>[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.(?P<cents>[0-9]+))?"
_DOLLARS = re.compile(DOLLARS)
MAX_MONEY_CHARS = 40


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
    cleaned = text.strip()
    if cleaned.startswith("-"):
        raise ValueError(f"money must not be negative, got {text!r}")
    if len(cleaned) > MAX_MONEY_CHARS:
        raise ValueError(f"money must be at most {MAX_MONEY_CHARS} characters, got {len(cleaned):,}")
    match = _DOLLARS.fullmatch(cleaned)
    if match is None:
        raise ValueError(f'money must look like "450.00" or "1,500.00", got {text!r}')
    cents = match["cents"] or ""
    if cents[2:].strip("0"):  # "1500.000" is exact; "12.345" is not
        raise ValueError(f"money has more than two decimal places, got {text!r}")
    return Money(int(match["whole"].replace(",", "")) * 100 + int(cents[:2].ljust(2, "0")))


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


class Percent:
    """An exact percentage such as "20%", held as the fraction 0.20."""

    __slots__ = ("_denominator", "_numerator", "fraction")

    def __init__(self, fraction: Decimal) -> None:
        self.fraction = fraction
        # The same fraction as integers, so `of` rounds without Decimal arithmetic (hot in pricing).
        self._numerator, self._denominator = fraction.as_integer_ratio()

    @classmethod
    def parse(cls, text: object) -> Percent:
        if not isinstance(text, str) or not text.strip().endswith("%"):
            raise TypeError(f'a percentage must be a string such as "20%", got {text!r}')
        if not _PERCENT.fullmatch(text.strip()):
            raise ValueError(f'a percentage must look like "20%" or "12.5%", got {text!r}')
        value = Decimal(text.strip()[:-1])
        if not value <= Decimal(100):
            raise ValueError(f"a percentage must be between 0% and 100%, got {text!r}")
        return cls(value / 100)

    def of(self, cents: int) -> int:
        """This share of an amount, rounded half-up to the cent (halves away from zero, SPEC 3)."""
        doubled = 2 * self._numerator * abs(cents)
        share = (doubled + self._denominator) // (2 * self._denominator)
        return share if cents >= 0 else -share

    def __str__(self) -> str:
        return f"{(self.fraction * 100).normalize():f}%"

    def __repr__(self) -> str:
        return f"Percent({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Percent) and self.fraction == other.fraction

    def __hash__(self) -> int:
        return hash(self.fraction)
