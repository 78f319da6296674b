"""The reference way to price a scenario: every unit with `pricing.engine.price_units`.

`pricing.run_engine.price_scenario` prices runs in closed form; this prices the same scenario
one unit at a time (the whole pathway again for "if reviews are denied") and hands the units
to the report as runs of one. The differential tests compare the two to the cent and
`scripts/bench_batch.py` times one against the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec

from coverage import estimate as estimate_module
from coverage.pricing.engine import AuthStatus, PricedUnit, price_units
from coverage.pricing.run_engine import PricedRun, ScenarioPricing
from coverage.pricing.terms import CostTerms, StartingAccumulators
from coverage.schedule import Phase, PhaseDays, expand


def as_runs(units: list[PricedUnit]) -> list[PricedRun]:
    """The reference's units as runs of one unit each."""
    return [
        PricedRun(
            **msgspec.structs.asdict(unit),
            count=1,
            days=PhaseDays(Phase(unit.level, 1, 1, 60), unit.date),
            first=0,
        )
        for unit in units
    ]


def unit_by_unit(
    phases: list[Phase],
    start_date: dt.date,
    terms: CostTerms,
    start: StartingAccumulators,
    auth_status: AuthStatus,
) -> ScenarioPricing:
    """price_scenario done the reference way: every unit priced, the whole pathway again if denied."""
    units = expand(phases, start_date)
    priced = price_units(units, terms, start_date, start, auth_status)
    at_risk = auth_status == "approved" and any(unit.auth == "pending_review" for unit in priced)
    denied = price_units(units, terms, start_date, start, "initial_only") if at_risk else None
    return ScenarioPricing(as_runs(priced), None if denied is None else as_runs(denied))


@contextmanager
def estimates_unit_by_unit() -> Iterator[None]:
    """Within the block, `coverage.estimate` prices every scenario unit by unit."""
    run_based = estimate_module.price_scenario
    estimate_module.price_scenario = unit_by_unit
    try:
        yield
    finally:
        estimate_module.price_scenario = run_based
