"""The batch engine against the scalar one: every output cell, totals and months, equal to the cent.

Rows come from a seeded generator that leans on the edges: every bundled plan, both networks and
categories, accumulators at, just under and over the limits, starts near plan-year resets (the
July plan year of lakeside-employer-limit-2026 included) and effective-period ends, custom
pathways with intensity overrides, every auth assumption, and a sprinkle of bad cells. A row is
expected in the errors output exactly when the scalar path (parse_money, EstimateRequest,
estimate) rejects it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

import msgspec
import pytest

from coverage.batch import INPUT_COLUMNS, run_batch
from coverage.estimate import (
    EstimateInputError,
    EstimateRequest,
    UnknownPlanError,
    estimate,
)
from coverage.money import format_dollars, parse_money
from coverage.plans import LoadedPlan, PlanCatalog, load_catalog
from coverage.settings import default_plans_dir

MONEY_FIELDS = (
    "allowed_cents",
    "member_cost_cents",
    "deductible_cents",
    "copay_cents",
    "coinsurance_cents",
    "penalty_cents",
    "balance_bill_cents",
    "not_covered_cents",
    "plan_paid_cents",
    "provider_absorbs_cents",
    "denied_exposure_cents",
)
MONEY_INPUTS = ("deductible_met", "oop_met", "family_deductible_met", "family_oop_met")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def catalog() -> PlanCatalog:
    return load_catalog(default_plans_dir())


# --- generating rows -------------------------------------------------------------------------------


def _plan_year_turns(loaded: LoadedPlan) -> list[dt.date]:
    """Plan-year starts inside or just after the effective period (where accumulators reset)."""
    start = loaded.plan.plan_year_start
    effective = loaded.plan.effective
    return [
        day
        for year in range(effective.start.year, effective.end.year + 2)
        if effective.start
        < (day := dt.date(year, start.month, start.day))
        <= effective.end + dt.timedelta(days=1)
    ]


def _start_date(rng: random.Random, loaded: LoadedPlan) -> str:
    effective = loaded.plan.effective
    span = (effective.end - effective.start).days
    pick = rng.random()
    if pick < 0.35:
        day = effective.start + dt.timedelta(days=rng.randint(0, span))
    elif pick < 0.75:  # a few weeks before a plan-year reset or the end of the period
        turn = rng.choice([*_plan_year_turns(loaded), effective.end])
        day = max(effective.start, turn - dt.timedelta(days=rng.randint(0, 70)))
    elif pick < 0.9:
        day = effective.start + dt.timedelta(days=rng.randint(0, 10))
    elif pick < 0.97:  # outside the effective period
        day = rng.choice(
            [effective.start - dt.timedelta(days=1), effective.end + dt.timedelta(days=rng.randint(1, 9))]
        )
    else:
        return rng.choice(["2026-02-30", "03/02/2026", "2026-3-2", "", "soon"])
    return day.isoformat()


def _amount(rng: random.Random, limit: int | None, floor: int = 0) -> int:
    limit = 300_000 if limit is None else limit
    pick = rng.random()
    if pick < 0.25:
        return floor
    if pick < 0.45:
        return limit
    if pick < 0.6:
        return max(floor, limit - rng.randint(1, 20_000))
    if pick < 0.63:
        return limit + rng.randint(1, 500)  # over the plan's limit: an error when the plan has one
    return rng.randint(floor, max(floor, limit))


def _dollar_text(rng: random.Random, cents: int) -> str:
    text = format_dollars(cents)
    pick = rng.random()
    if pick < 0.05:
        return f"${int(text.split('.')[0]):,}.{text.split('.')[1]}"
    if pick < 0.1 and cents % 100 == 0:
        return str(cents // 100)
    if pick < 0.12:
        return rng.choice(["-5.00", "12.345", "abc", "", " 10.50 ", "1.5", "99999999.00"])
    return text


def _pathway(rng: random.Random) -> str:
    if rng.random() < 0.04:
        return rng.choice(["iop:0", "rtc:4", "iop:8x9", "op:157", "php:3,iop", "op:100,op:100"])
    phases = []
    for _ in range(rng.randint(1, 4)):
        level = rng.choice(["op", "iop", "php"])
        text = f"{level}:{rng.randint(1, 16)}"
        if rng.random() < 0.4:
            text += f"x{rng.randint(1, 7)}"
        if rng.random() < 0.3:
            text += rng.choice(["@3h", "@2.5h", "@50m", "@6", "@90m"])
        phases.append(text)
    return ",".join(phases)


def random_row(rng: random.Random, catalog: PlanCatalog, number: int) -> dict[str, str]:
    """One input row; most are valid, some break one rule or another."""
    plan_id = rng.choice(sorted(catalog.plans))
    loaded = catalog.plans[plan_id]
    network = rng.choice(["in", "in", "out"])
    limits = loaded.plan.network_accumulators(network)  # type: ignore[arg-type]
    deductible = _amount(rng, limits and limits.deductible_individual_cents)
    oop = _amount(
        rng, limits and (limits.oop_max_individual_cents or limits.oop_max_family_cents), deductible
    )
    row = {
        "client_id": rng.choice(
            [f"c{number}", f"=cmd{number}", f"+{number}", f"-{number}", f"@c{number}", f"c,{number}"]
        ),
        "plan_id": plan_id if rng.random() > 0.02 else rng.choice(["no-such-plan", ""]),
        "network": network if rng.random() > 0.01 else "both",
        "category": rng.choice(["mh", "sud"]) if rng.random() > 0.01 else "",
        "start_date": _start_date(rng, loaded),
        "deductible_met": _dollar_text(rng, deductible),
        "oop_met": _dollar_text(rng, oop),
        "horizon_weeks": "",
        "pathway": "",
        "auth_status": "",
        "family_deductible_met": "",
        "family_oop_met": "",
    }
    if rng.random() < 0.3:
        row["horizon_weeks"] = str(rng.choice([1, 2, 3, 8, 9, 26, 30, 52, 78, 156, rng.randint(1, 156)]))
        if rng.random() < 0.05:
            row["horizon_weeks"] = rng.choice(["0", "157", "ten", "4.5"])
    if rng.random() < 0.3:
        row["pathway"] = _pathway(rng)
    if rng.random() < 0.4:
        row["auth_status"] = rng.choice(
            ["approved", "initial_only", "none", "none", "maybe"][: 4 + (rng.random() < 0.1)]
        )
    if limits is not None and rng.random() < 0.2:
        family_limit = limits.deductible_family_cents or limits.deductible_individual_cents
        family_deductible = _amount(rng, family_limit)
        row["family_deductible_met"] = _dollar_text(rng, family_deductible)
        family_oop_limit = limits.oop_max_family_cents or limits.oop_max_individual_cents
        row["family_oop_met"] = _dollar_text(rng, _amount(rng, family_oop_limit, family_deductible))
    return row


def random_rows(seed: int, count: int, catalog: PlanCatalog) -> list[dict[str, str]]:
    rng = random.Random(seed)
    return [random_row(rng, catalog, number) for number in range(1, count + 1)]


def to_csv(rows: list[dict[str, str]], columns: tuple[str, ...] = INPUT_COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


# --- the scalar side -------------------------------------------------------------------------------


def scalar_request(row: dict[str, str]) -> EstimateRequest:
    """The row as the CLI/API would pass it: every cell through the scalar parsers; raises when bad."""
    cells = {name: value.strip() for name, value in row.items()}
    for name in ("client_id", "plan_id", "network", "category", "start_date", "deductible_met", "oop_met"):
        if not cells[name]:
            raise ValueError(f"{name} is required")
    fields: dict[str, object] = {
        "plan_id": cells["plan_id"],
        "start_date": dt.date.fromisoformat(cells["start_date"]),
        "network": cells["network"],
        "category": cells["category"],
    }
    for name in MONEY_INPUTS:
        if cells[name]:
            fields[f"{name}_cents"] = parse_money(cells[name])
    if cells["horizon_weeks"]:
        if not cells["horizon_weeks"].isdigit():
            raise ValueError("horizon_weeks is not a whole number")
        fields["horizon_weeks"] = int(cells["horizon_weeks"])
    if cells["pathway"]:
        fields["pathway"] = cells["pathway"]
    if cells["auth_status"]:
        fields["auth_status"] = cells["auth_status"]
    return msgspec.convert(fields, EstimateRequest)


def _cells(breakdown: msgspec.Struct) -> list[str]:
    return [str(breakdown.units), *(format_dollars(getattr(breakdown, name)) for name in MONEY_FIELDS)]  # type: ignore[attr-defined]


def _optional_dollars(cents: int | None) -> str:
    return "" if cents is None else format_dollars(cents)


def escaped(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def scalar_outputs(
    rows: list[dict[str, str]], catalog: PlanCatalog
) -> tuple[list[list[str]], list[list[str]], set[int]]:
    """Expected totals and monthly CSV rows, and the row numbers the scalar path rejects."""
    totals: list[list[str]] = []
    months: list[list[str]] = []
    rejected: set[int] = set()
    for number, row in enumerate(rows, start=1):
        try:
            result = estimate(catalog, scalar_request(row))
        except (ValueError, TypeError, msgspec.ValidationError, EstimateInputError, UnknownPlanError):
            rejected.add(number)
            continue
        client = escaped(row["client_id"])
        for scenario in result.scenarios:
            head = [str(number), client, scenario.name]
            totals.append([*head, scenario.pathway, *_cells(scenario.totals)])
            for month in scenario.months:
                position = month.accumulators
                months.append(
                    [
                        *head,
                        month.month,
                        *_cells(month),
                        position.plan_year_start.isoformat(),
                        format_dollars(position.deductible_met_cents),
                        _optional_dollars(position.deductible_remaining_cents),
                        format_dollars(position.oop_met_cents),
                        _optional_dollars(position.oop_remaining_cents),
                    ]
                )
    return totals, months, rejected


# --- the batch side --------------------------------------------------------------------------------


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


def batch_outputs(
    source: bytes, catalog: PlanCatalog, chunk_rows: int = 1_000
) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    output, errors, monthly = io.BytesIO(), io.BytesIO(), io.BytesIO()
    run_batch(source, output, errors, catalog=catalog, monthly=monthly, chunk_rows=chunk_rows)
    return read_csv(output.getvalue()), read_csv(monthly.getvalue()), read_csv(errors.getvalue())


def assert_same(rows: list[dict[str, str]], catalog: PlanCatalog, chunk_rows: int = 1_000) -> None:
    expected_totals, expected_months, rejected = scalar_outputs(rows, catalog)
    totals, months, errors = batch_outputs(to_csv(rows), catalog, chunk_rows)
    assert {int(error[0]) for error in errors[1:]} == rejected
    assert totals[1:] == expected_totals
    assert months[1:] == expected_months
    assert len(totals) > 1


# --- differential tests ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_random_rows_match_the_scalar_engine(seed: int, catalog: PlanCatalog) -> None:
    assert_same(random_rows(seed, 300, catalog), catalog, chunk_rows=128)
