"""The compiled unit loop that turns a key's units into runs (batch_kernel.unit_run_starts)."""

from __future__ import annotations

import polars as pl

from coverage.pricing.batch_kernel import AUTH_CODES, STATUS_CODES, UNIT_INPUTS, unit_run_starts


def test_units_get_the_scalar_engines_statuses_and_split_into_runs() -> None:
    # Key 0: a benefit with a 2-visit limit, 1 unit approved up front, reviews pending (no denial),
    # auth "initial_only"; units 1-3 in plan year 0, unit 4 in plan year 1, units 4-5 in month 2.
    #   unit 1: episode unit 1 <= 1 approved, 0 visits used < 2 -> covered (visits used: 1)
    #   unit 2: episode unit 2 > 1, unauthorized, no denial -> penalty (visits used: 2)
    #   unit 3: 2 visits used >= limit 2 -> over the visit limit
    #   unit 4: new plan year, visits used restart at 0; episode unit 4 > 1 -> penalty
    #   unit 5: same as unit 4 but another month: a run of its own when months split runs
    # Key 1: two units of a level without a benefit -> one not-covered run.
    units = pl.DataFrame(
        {
            "key_id": [0, 0, 0, 0, 0, 1, 1],
            "py_idx": [0, 0, 0, 1, 1, 0, 0],
            "period": [1, 1, 1, 1, 2, 1, 1],
            "level": [0, 0, 0, 0, 0, 1, 1],
            "unit_in_episode": [1, 2, 3, 4, 5, 1, 2],
            "auth": [AUTH_CODES["initial_only"]] * 5 + [AUTH_CODES["approved"]] * 2,
            "priceable": [True] * 5 + [False] * 2,
            "prior_auth": [True] * 5 + [False] * 2,
            "initial_units": [1] * 5 + [0] * 2,
            "denies": [False] * 7,
            "visit_limit": [2] * 5 + [0] * 2,
        },
        schema=UNIT_INPUTS,
    )
    starts, statuses = unit_run_starts(units)
    assert starts.tolist() == [0, 1, 2, 3, 4, 5]
    names = ["covered", "penalty_no_auth", "over_visit_limit", "penalty_no_auth", "penalty_no_auth"]
    assert statuses.tolist() == [STATUS_CODES[name] for name in [*names, "not_covered"]]


def test_a_denied_unit_is_not_a_visit() -> None:
    # auth "none" on a benefit that denies: every unit denied, none uses one of the 1-visit limit,
    # so none is over it; a benefit without prior auth then counts: 1st covered, 2nd over the limit.
    units = pl.DataFrame(
        {
            "key_id": [0, 0, 0, 0],
            "py_idx": [0, 0, 0, 0],
            "period": [0, 0, 0, 0],
            "level": [0, 0, 1, 1],
            "unit_in_episode": [1, 2, 1, 2],
            "auth": [AUTH_CODES["none"]] * 4,
            "priceable": [True] * 4,
            "prior_auth": [True, True, False, False],
            "initial_units": [5, 5, 0, 0],
            "denies": [True, True, False, False],
            "visit_limit": [1] * 4,
        },
        schema=UNIT_INPUTS,
    )
    starts, statuses = unit_run_starts(units)
    assert starts.tolist() == [0, 2, 3]
    names = ["denied_no_auth", "covered", "over_visit_limit"]
    assert statuses.tolist() == [STATUS_CODES[name] for name in names]
