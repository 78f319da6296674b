"""Dates typed by people (forms, CLI): YYYY-MM-DD only, and a clear word for an impossible one.

`date.fromisoformat` also takes "20260302" and week dates, and says "day is out of range for
month" for 2026-02-30; people wrote that date in the right shape, so the message says it is
not a date rather than asking for the shape again.
"""

from __future__ import annotations

import datetime as dt
import re

_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: str) -> dt.date:
    """"2026-03-02" -> date; ValueError in words for a bad shape or a day that does not exist."""
    if not _SHAPE.fullmatch(text):
        raise ValueError(f"write the date as YYYY-MM-DD, such as 2026-03-02 (got {text!r})")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text} is not a date: check the month and day") from None
