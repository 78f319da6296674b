"""The compiled loop that cuts each key's dated units into runs (batch_kernel.key_runs)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from coverage.pricing.batch_kernel import AUTH_CODES, STATUS_CODES, key_runs

_EPOCH = dt.date(1970, 1, 1)
# Benefit rows terms_id * 2 + level. Terms 0, level 0: 2-visit limit, prior auth with 1 unit
# approved up front, reviews pending (no denial); level 1: no benefit. Terms 1 (the plan that
# renews terms 0 from 2027-01-01), level 0: 4 units approved up front, a unit denied without auth
# after them, 1-visit limit.
_BENEFITS = pl.DataFrame(
    {
        "priceable": [1, 0, 1, 0],
        "prior_auth": [1, 0, 1, 0],
        "initial_units": [1, 0, 4, 0],
        "denies": [0, 0, 1, 0],
        "visit_limit": [2, 0, 1, 0],
    }
)
_RENEWALS = pl.DataFrame(
    {
        "terms_id": [1, 0, 0],  # sorted by the loop: terms 0's rows first
        "valid_from": [dt.date(2026, 1, 1), dt.date(2026, 1, 1), dt.date(2027, 1, 1)],
        "valid_to": [dt.date(9999, 12, 31), dt.date(2026, 12, 31), dt.date(9999, 12, 31)],
        "unit_terms_id": [1, 0, 1],
    }
)


def _units(dates: list[dt.date], levels: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [(day - _EPOCH).days for day in dates],
            "year": [day.year for day in dates],
            "month": [day.month for day in dates],
            "day": [day.day for day in dates],
            "month_no": [day.year * 12 + day.month - 1 for day in dates],
            "level": levels,
            "unit_in_episode": list(range(len(dates))),  # unit k is its episode's unit k
        }
    )


def _key(first: int, end: int, auth: str) -> dict[str, int]:
    # Plan years start on July 1; the key starts in the plan year that began 2026-07-01.
    return {
        "first_unit": first,
        "end_unit": end,
        "terms_id": 0,
        "auth": AUTH_CODES[auth],  # type: ignore[index]
        "py_month": 7,
        "py_day": 1,
        "start_py_year": 2026,
    }


def _runs(by_month: bool) -> list[tuple[int, ...]]:
    units = _units(
        [
            dt.date(2025, 12, 1),  # before any terms start: left out
            dt.date(2026, 8, 3),
            dt.date(2026, 8, 10),
            dt.date(2026, 8, 17),
            dt.date(2027, 2, 1),
            dt.date(2027, 7, 5),
            dt.date(2026, 8, 4),
            dt.date(2026, 8, 11),
        ],
        [0, 0, 0, 0, 0, 0, 1, 1],
    )
    keys = pl.DataFrame([_key(0, 6, "initial_only"), _key(6, 8, "approved")])
    runs = key_runs(keys, units, _RENEWALS, _BENEFITS, 2, by_month)
    return list(runs.iter_rows())


def test_units_get_the_scalar_engines_statuses_and_split_into_runs() -> None:
    # Key 0 (auth initial_only), columns key, first unit, terms, plan year, status, units:
    #   unit 0, 2025-12-01: no terms price it -> left out
    #   unit 1, 2026-08-03: episode unit 1 <= 1 approved, 0 visits < 2 -> covered (1 visit)
    #   unit 2, 2026-08-10: episode unit 2 > 1, pending, no denial -> penalty (2 visits)
    #   units 3-4, 2026-08-17 and 2027-02-01: 2 visits >= limit 2 -> over the visit limit, one run
    #     (2027-02-01 is still in the plan year from 2026-07-01; priced by terms 1 from January,
    #     whose limit of 1 is reached too; a run keeps its first unit's terms)
    #   unit 5, 2027-07-05: terms 1 (renewed), plan year 1 (visits back to 0); episode unit 5 > 4
    #     approved, denied without auth -> denied (not a visit)
    # Key 1 (approved), units 6-7 of a level without a benefit -> one not-covered run.
    status = STATUS_CODES
    assert _runs(by_month=False) == [
        (0, 1, 0, 0, status["covered"], 1),
        (0, 2, 0, 0, status["penalty_no_auth"], 1),
        (0, 3, 0, 0, status["over_visit_limit"], 2),
        (0, 5, 1, 1, status["denied_no_auth"], 1),
        (1, 6, 0, 0, status["not_covered"], 2),
    ]


def test_months_split_runs_when_reported() -> None:
    # As above, but units 3 (August) and 4 (February) fall in different months: two runs.
    runs = _runs(by_month=True)
    assert [(run[1], run[5]) for run in runs] == [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 2)]
