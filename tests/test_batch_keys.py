"""key_code: a key's parts packed into one number, unpacked again by key_columns."""

from __future__ import annotations

import datetime as dt

import polars as pl

from coverage.pricing.batch_engine import (
    KEY_COLUMNS,
    MAX_PATHWAYS,
    MAX_TERMS,
    PATHWAY_STEP,
    key_code,
    key_columns,
)

_KEYS = pl.DataFrame(
    {
        "terms_id": [0, 7, MAX_TERMS - 1],
        "start_date": [dt.date(1, 1, 1), dt.date(1969, 12, 31), dt.date(9999, 12, 31)],
        "pathway_id": [0, 3, MAX_PATHWAYS - 1],
        "auth": [0, 1, 2],
    },
    schema={"terms_id": pl.Int32, "start_date": pl.Date, "pathway_id": pl.Int32, "auth": pl.Int8},
)


def test_key_columns_unpack_key_code_at_the_edges() -> None:
    codes = _KEYS.select(key_code=key_code(pl.col("pathway_id")))
    assert codes.select(key_columns(pl.col("key_code"))).equals(_KEYS.select(KEY_COLUMNS))


def test_a_scenario_code_is_the_client_code_plus_its_pathway_steps() -> None:
    # Row 2: pathway 3 is 3 steps of 2**2 * 2**23 = 33,554,432 above pathway 0: 100,663,296.
    client = _KEYS.select(key_code(pl.lit(0))).to_series()
    scenario = _KEYS.select(key_code(pl.col("pathway_id"))).to_series()
    assert PATHWAY_STEP == 33_554_432
    assert (scenario - client).to_list() == [0, 100_663_296, (MAX_PATHWAYS - 1) * PATHWAY_STEP]
