"""The batch engine against the scalar one: every output cell, totals and months, equal to the cent.

Rows come from a seeded generator that leans on the edges: every bundled plan (and two test plans
with per-unit caps, odd percentages, a mid-April plan year, a family-only OOP maximum), both
networks and categories, accumulators at, just under and over the limits, starts near plan-year
resets (the July plan year of lakeside-employer-limit-2026 included) and effective-period ends,
custom pathways with intensity overrides, every auth assumption, and a sprinkle of bad cells. A row
is expected in the errors output exactly when the scalar path (parse_money, EstimateRequest,
estimate) rejects it, and for the same column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import ACME_BATCH_ROW, REPO

from coverage.batch import INPUT_COLUMNS, REQUIRED_COLUMNS, TOTALS_HEADER, dollars, key_tables, run_batch
from coverage.cli import main
from coverage.cli.batch import errors_path
from coverage.errors import InputError, NotFound
from coverage.estimate import EstimateRequest, estimate
from coverage.money import format_dollars, parse_money
from coverage.plans import LoadedPlan, PlanCatalog, load_catalog
from coverage.pricing import batch_tables
from coverage.pricing.parts import AMOUNT_NAMES

DATA = REPO / "tests" / "data"
SAMPLE = DATA / "batch_sample.csv"
MONEY_FIELDS = tuple(f"{name}_cents" for name in AMOUNT_NAMES)  # the cost parts, declared once
MONEY_INPUTS = ("deductible_met", "oop_met", "family_deductible_met", "family_oop_met")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", " ", "\u00a0", "\u200b", "＝", "＋", "－", "＠")


@pytest.fixture(scope="module")
def edge_catalog() -> PlanCatalog:
    """Test-only plans whose terms the bundled ones never reach (tests/data/batch_plans)."""
    loaded = load_catalog(DATA / "batch_plans")
    assert not loaded.errors
    return loaded


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


class Rejected(Exception):
    """The scalar path refused a row; `column` is the input column it blamed."""

    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


def _column_of_field(field: str) -> str:
    return field.removesuffix("_cents")


def scalar_request(row: dict[str, str]) -> EstimateRequest:
    """The row as the CLI/API would pass it, every cell through the scalar parsers; Rejected if bad."""
    cells = {name: row.get(name, "").strip() for name in INPUT_COLUMNS}
    for name in REQUIRED_COLUMNS:
        if not cells[name]:
            raise Rejected(name)
    fields: dict[str, object] = {name: cells[name] for name in ("plan_id", "network", "category")}
    try:
        fields["start_date"] = dt.date.fromisoformat(cells["start_date"])
    except ValueError:
        raise Rejected("start_date") from None
    for name in MONEY_INPUTS:
        if cells[name]:
            try:
                fields[f"{name}_cents"] = parse_money(cells[name])
            except ValueError:
                raise Rejected(name) from None
    if cells["horizon_weeks"]:
        if not cells["horizon_weeks"].isdigit():
            raise Rejected("horizon_weeks")
        fields["horizon_weeks"] = int(cells["horizon_weeks"])
    for name in ("pathway", "auth_status"):
        if cells[name]:
            fields[name] = cells[name]
    try:
        return msgspec.convert(fields, EstimateRequest)
    except msgspec.ValidationError as exc:
        field = re.search(r"`\$\.(\w+)`", str(exc))
        raise Rejected(_column_of_field(field[1]) if field else "?") from None


def _cells(breakdown: msgspec.Struct) -> list[str]:
    values = (getattr(breakdown, name) for name in MONEY_FIELDS)
    return [str(breakdown.units), *(format_dollars(value) for value in values)]  # type: ignore[attr-defined]


def _optional_dollars(cents: int | None) -> str:
    return "" if cents is None else format_dollars(cents)


def escaped(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def scalar_outputs(
    rows: list[dict[str, str]], catalog: PlanCatalog
) -> tuple[list[list[str]], list[list[str]], dict[int, str]]:
    """Expected totals and monthly CSV rows, and the rows the scalar path rejects with the column."""
    totals: list[list[str]] = []
    months: list[list[str]] = []
    rejected: dict[int, str] = {}
    for number, row in enumerate(rows, start=1):
        try:
            result = estimate(catalog, scalar_request(row))
        except Rejected as exc:
            rejected[number] = exc.column
            continue
        except InputError as exc:
            rejected[number] = _column_of_field(exc.field)
            continue
        except NotFound:
            rejected[number] = "plan_id"
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
    return list(csv.reader(io.StringIO(data.decode(), newline="")))


def batch_outputs(
    source: bytes, catalog: PlanCatalog, chunk_rows: int = 1_000
) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """Totals, monthly and errors CSVs (headers dropped) for `source`."""
    output, errors, monthly = io.BytesIO(), io.BytesIO(), io.BytesIO()
    run_batch(source, output, errors, catalog=catalog, monthly=monthly, chunk_rows=chunk_rows)
    return read_csv(output.getvalue())[1:], read_csv(monthly.getvalue())[1:], read_csv(errors.getvalue())[1:]


def batch_totals(source: bytes, catalog: PlanCatalog, chunk_rows: int) -> list[list[str]]:
    """Totals only: the path that prices just the client-dependent runs (no month split)."""
    output = io.BytesIO()
    run_batch(source, output, io.BytesIO(), catalog=catalog, chunk_rows=chunk_rows)
    return read_csv(output.getvalue())[1:]


def assert_same(rows: list[dict[str, str]], catalog: PlanCatalog, chunk_rows: int = 1_000) -> None:
    """Both engines over the rows: same rejected rows (the scalar's column among the batch's),
    and every totals and monthly cell identical."""
    expected_totals, expected_months, rejected = scalar_outputs(rows, catalog)
    source = to_csv(rows)
    totals, months, errors = batch_outputs(source, catalog, chunk_rows)
    columns_of_row: dict[int, set[str]] = {}
    for error in errors:
        columns_of_row.setdefault(int(error[0]), set()).add(error[2])
    assert set(columns_of_row) == set(rejected)
    assert all(rejected[row] in columns_of_row[row] for row in rejected)
    assert totals == expected_totals
    assert months == expected_months
    assert batch_totals(source, catalog, chunk_rows) == expected_totals
    assert expected_totals, "every row was rejected: the generator is off"


# --- differential tests ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_random_rows_match_the_scalar_engine(seed: int, catalog: PlanCatalog) -> None:
    assert_same(random_rows(seed, 300, catalog), catalog, chunk_rows=128)


@pytest.mark.parametrize("seed", range(3))
def test_edge_plans_match_the_scalar_engine(seed: int, edge_catalog: PlanCatalog) -> None:
    """Per-unit caps that bind (alone and inside the deductible), a family-only OOP maximum,
    copay above allowed, a zero allowed amount, a penalty of 100%, a mid-April plan year."""
    assert_same(random_rows(100 + seed, 400, edge_catalog), edge_catalog, chunk_rows=97)


def test_per_day_cap_over_the_deductible_matches_the_scalar_engine(edge_catalog: PlanCatalog) -> None:
    """Medicare's per-day cap limits coinsurance only: sud_iop of edge-no-oop-2026 is $9,000 a day,
    20%, capped at $1,736, deductible $1,050 (plan year from December 1).

    Nothing met, iop:1x1 from 2026-01-05: $1,050 + min(20% x $7,950 = $1,590, $1,736) = $2,640.00.
    $900 met: $150 + min(20% x $8,850 = $1,770, $1,736) = $1,886.00.
    Nothing met, iop:1x2: day 1 $2,640.00, day 2 min(20% x $9,000 = $1,800, $1,736) = $1,736 -> $4,376.00.
    """
    base = dict.fromkeys(INPUT_COLUMNS, "") | {
        "plan_id": "edge-no-oop-2026",
        "network": "in",
        "category": "sud",
        "start_date": "2026-01-05",
    }
    rows = [
        base | {"client_id": "a", "deductible_met": "0", "oop_met": "0", "pathway": "iop:1x1"},
        base | {"client_id": "b", "deductible_met": "900.00", "oop_met": "900.00", "pathway": "iop:1x1"},
        base | {"client_id": "c", "deductible_met": "0", "oop_met": "0", "pathway": "iop:1x2"},
    ]
    assert_same(rows, edge_catalog)
    totals, _, _ = batch_outputs(to_csv(rows), edge_catalog)
    member_cost = TOTALS_HEADER.index("member_cost")
    assert [row[member_cost] for row in totals] == ["2640.00", "1886.00", "4376.00"]


def test_ten_thousand_rows_match_the_scalar_engine(catalog: PlanCatalog) -> None:
    """The big differential case: 10,000 seeded rows, totals and months, cell for cell."""
    assert_same(random_rows(2026, 10_000, catalog), catalog, chunk_rows=2_500)


def _phase_text(level: str, weeks: int, per_week: int | None, length: str | None) -> str:
    return f"{level}:{weeks}" + (f"x{per_week}" if per_week else "") + (length or "")


phases = st.builds(
    _phase_text,
    st.sampled_from(["op", "iop", "php"]),
    st.integers(1, 20),
    st.none() | st.integers(1, 7),
    st.none() | st.sampled_from(["@3h", "@50m", "@2.5h", "@6"]),
)


@st.composite
def client_rows(draw: st.DrawFn, catalog: PlanCatalog) -> dict[str, str]:
    """A valid-looking row whose amounts sit anywhere from zero to the limits."""
    loaded = catalog.plans[draw(st.sampled_from(sorted(catalog.plans)))]
    network = draw(st.sampled_from(["in", "out"]))
    limits = loaded.plan.network_accumulators(network)  # type: ignore[arg-type]
    deductible_limit = limits.deductible_individual_cents if limits else 0
    oop_limit = (limits.oop_max_individual_cents if limits else None) or deductible_limit + 400_000
    deductible = draw(st.integers(0, deductible_limit))
    effective = loaded.plan.effective
    return {
        "client_id": draw(st.text(alphabet="=+-@\tab1, ", min_size=1, max_size=6).filter(str.strip)),
        "plan_id": loaded.plan.id,
        "network": network,
        "category": draw(st.sampled_from(["mh", "sud"])),
        "start_date": draw(st.dates(effective.start, effective.end)).isoformat(),
        "deductible_met": format_dollars(deductible),
        "oop_met": format_dollars(draw(st.integers(deductible, max(deductible, oop_limit)))),
        "horizon_weeks": str(draw(st.integers(1, 60))),
        "pathway": ",".join(draw(st.lists(phases, max_size=3))),
        "auth_status": draw(st.sampled_from(["", "approved", "initial_only", "none"])),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hypothesis_rows_match_the_scalar_engine(data: st.DataObject, catalog: PlanCatalog) -> None:
    rows = data.draw(st.lists(client_rows(catalog), min_size=1, max_size=12))
    assert_same(rows, catalog, chunk_rows=5)


def test_chunk_size_does_not_change_a_cell(catalog: PlanCatalog) -> None:
    """Keys built in one chunk are reused by later ones; a chunk may hold no valid row at all."""
    source = to_csv(random_rows(7, 60, catalog))
    assert batch_outputs(source, catalog, chunk_rows=1) == batch_outputs(source, catalog, chunk_rows=1_000)


@given(st.integers(-(10**15), 10**15))
def test_dollars_are_exact(cents: int) -> None:
    written = (
        pl.DataFrame({"cents": [cents]}).select(dollars(pl.col("cents"))).write_csv(include_header=False)
    )
    assert written.strip() == format_dollars(cents)


# --- bad rows, missing columns, escaping -----------------------------------------------------------

GOOD = ACME_BATCH_ROW


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        ({"plan_id": "nope"}, "plan_id", "no plan with this id is loaded"),
        ({"plan_id": " "}, "plan_id", "is required"),
        ({"network": "IN"}, "network", "must be one of in, out"),
        ({"category": "rx"}, "category", "must be one of mh, sud"),
        ({"start_date": "03/02/2026"}, "start_date", "must be a date YYYY-MM-DD"),
        ({"start_date": "2026-02-30"}, "start_date", "is not a calendar date"),
        (
            {"start_date": "2027-01-04"},
            "start_date",
            "2027-01-04 is outside the plan's effective period 2026-01-01 to 2026-12-31",
        ),
        ({"deductible_met": ""}, "deductible_met", "is required"),
        ({"deductible_met": "-1.00"}, "deductible_met", "must not be negative"),
        ({"deductible_met": "1.005"}, "deductible_met", "has more than two decimal places"),
        ({"deductible_met": "12abc"}, "deductible_met", 'must be dollars such as "450.00"'),
        # parse_money's grammar: thousands in groups of three, digits on both sides of a point, ASCII
        ({"deductible_met": "1,2,3.00"}, "deductible_met", 'must be dollars such as "450.00"'),
        ({"deductible_met": "5."}, "deductible_met", 'must be dollars such as "450.00"'),
        ({"oop_met": "٥"}, "oop_met", 'must be dollars such as "450.00"'),
        (
            {"deductible_met": "1500.01", "oop_met": "1600.00"},
            "deductible_met",
            "$1,500.01 is more than the plan's individual deductible $1,500.00",
        ),
        ({"oop_met": "99999999.00"}, "oop_met", "must be at most 10000000.00"),
        (
            {"oop_met": "6000.01"},
            "oop_met",
            "$6,000.01 is more than the plan's individual out-of-pocket maximum $6,000.00",
        ),
        (
            {"deductible_met": "200.00", "oop_met": "100.00"},
            "oop_met",
            "must be at least the deductible met: deductible payments count toward the out-of-pocket maximum",
        ),
        (
            {"family_deductible_met": "3000.01"},
            "family_deductible_met",
            "$3,000.01 is more than the plan's family deductible $3,000.00",
        ),
        (
            {"deductible_met": "500.00", "oop_met": "", "family_deductible_met": "400.00"},
            "family_deductible_met",
            "$400.00 is less than the client's deductible met $500.00: the family amount includes the "
            "client's own",
        ),
        (
            {"deductible_met": "500.00", "oop_met": "", "family_oop_met": "499.99"},
            "family_oop_met",
            "$499.99 is less than the client's out-of-pocket met $500.00: the family amount includes "
            "the client's own",
        ),
        (
            {"family_deductible_met": "900.00", "family_oop_met": "800.00"},
            "family_oop_met",
            "must be at least the family deductible met: deductible payments count toward the "
            "out-of-pocket maximum",
        ),
        ({"horizon_weeks": "157"}, "horizon_weeks", "must be a whole number of weeks from 1 to 156"),
        ({"pathway": "iop:8x9"}, "pathway", "phase 1 'iop:8x9': units per week must be 1-7"),
        ({"auth_status": "maybe"}, "auth_status", "must be one of approved, initial_only, none"),
    ],
)
def test_a_bad_cell_is_reported_and_the_other_rows_complete(
    changes: dict[str, str], column: str, reason: str, catalog: PlanCatalog
) -> None:
    rows = [GOOD, {**GOOD, "client_id": "bad", **changes}, {**GOOD, "client_id": "ok2"}]
    totals, _, errors = batch_outputs(to_csv(rows), catalog)
    value = changes[column]
    assert errors == [["2", "bad", column, escaped(value), reason]]
    assert [(row[0], row[1]) for row in totals] == [("1", "ok")] * 3 + [("3", "ok2")] * 3


def test_a_blank_oop_met_is_the_deductible_met(catalog: PlanCatalog) -> None:
    """Deductible met $500, out-of-pocket blank: priced as out-of-pocket met $500, and the same as
    the scalar engine. acme PPO Gold, IOP scenario, 26 weeks from 2026-03-02 (README's worked
    example): $1,000 deductible left + 20% x ($10,800 - $1,000) = $1,960 on the IOP days, then
    18 sessions x $30 = $540 -> $3,500.00 (the OOP max $6,000 - $500 is not reached)."""
    blank = {**GOOD, "deductible_met": "500.00", "oop_met": ""}
    stated = {**GOOD, "deductible_met": "500.00", "oop_met": "500.00"}
    assert_same([blank, stated], catalog)
    totals, _, errors = batch_outputs(to_csv([blank, stated]), catalog)
    assert errors == []
    assert [row[2:] for row in totals[:3]] == [row[2:] for row in totals[3:]]
    member_cost = TOTALS_HEADER.index("member_cost")
    assert totals[1][2] == "iop" and totals[1][member_cost] == "3500.00"
    # the same row without the oop_met column at all
    columns = tuple(name for name in INPUT_COLUMNS if name != "oop_met")
    assert batch_outputs(to_csv([blank], columns), catalog)[0] == totals[:3]


def test_every_bad_cell_of_a_row_is_listed_in_column_order(catalog: PlanCatalog) -> None:
    bad = {**GOOD, "network": "x", "start_date": "", "oop_met": "-3"}
    totals, _, errors = batch_outputs(to_csv([bad, GOOD]), catalog)
    assert [error[2] for error in errors] == ["network", "start_date", "oop_met"]
    assert {row[0] for row in totals} == {"2"}


def test_a_missing_required_column_stops_before_any_work(catalog: PlanCatalog) -> None:
    columns = tuple(name for name in INPUT_COLUMNS if name not in ("network", "deductible_met"))
    output, errors = io.BytesIO(), io.BytesIO()
    with pytest.raises(InputError, match="missing required columns network, deductible_met") as raised:
        run_batch(to_csv([GOOD], columns), output, errors, catalog=catalog)
    assert [problem.field for problem in raised.value.problems] == ["network", "deductible_met"]
    assert output.getvalue() == errors.getvalue() == b""


def test_optional_columns_may_be_absent_and_headers_are_forgiving(catalog: PlanCatalog) -> None:
    source = "\ufeff client_id ,plan_id,network,category,start_date,deductible_met,oop_met\r\n".encode()
    source += b"a,acme-ppo-gold-2026, in ,mh,2026-03-02,0,0\r\n"
    totals, _, errors = batch_outputs(source, catalog)
    assert errors == []
    assert [row[:3] for row in totals] == [["1", "a", "weekly"], ["1", "a", "iop"], ["1", "a", "php"]]


def test_an_input_without_rows_gives_headers_only(catalog: PlanCatalog) -> None:
    output, errors = io.BytesIO(), io.BytesIO()
    result = run_batch(",".join(REQUIRED_COLUMNS).encode() + b"\n", output, errors, catalog=catalog)
    assert result.rows == result.output_rows == 0
    assert output.getvalue().decode().startswith("row,client_id,scenario,pathway,units,allowed,")
    assert errors.getvalue() == b"row,client_id,column,value,reason\n"


def test_input_that_is_not_csv_is_a_batch_input_error(catalog: PlanCatalog) -> None:
    with pytest.raises(InputError, match="header row"):
        run_batch(b"", io.BytesIO(), io.BytesIO(), catalog=catalog)
    ragged = to_csv([GOOD], REQUIRED_COLUMNS) + b"a,b,c,d,e,f,g,h\n"
    with pytest.raises(InputError, match="stops being valid CSV"):
        run_batch(ragged, io.BytesIO(), io.BytesIO(), catalog=catalog)


@pytest.mark.parametrize("client_id", ["=1+2", "+44 20", "-3", "@SUM(A1)", "\tx", "\rx"])
def test_text_cells_never_start_a_formula(client_id: str, catalog: PlanCatalog) -> None:
    rows = [{**GOOD, "client_id": client_id}, {**GOOD, "client_id": client_id, "network": "=cmd"}]
    totals, months, errors = batch_outputs(to_csv(rows), catalog)
    assert {row[1] for row in totals} == {row[1] for row in months} == {"'" + client_id}
    assert errors == [["2", "'" + client_id, "network", "'=cmd", "must be one of in, out"]]


# --- the command line on the sample file -----------------------------------------------------------


def sample_rows() -> list[dict[str, str]]:
    with SAMPLE.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_cli_end_to_end_on_the_sample(
    tmp_path: Path, catalog: PlanCatalog, capsys: pytest.CaptureFixture[str]
) -> None:
    output, monthly = tmp_path / "out.csv", tmp_path / "monthly.csv"
    code = main(["batch", str(SAMPLE), "-o", str(output), "--monthly", str(monthly), "--chunk-rows", "4"])
    err = capsys.readouterr().err
    assert code == 0
    assert "batch: 4 / 13 rows" in err and "batch: 13 / 13 rows" in err
    assert "3 rows rejected" in err
    expected_totals, expected_months, rejected = scalar_outputs(sample_rows(), catalog)
    assert read_csv(output.read_bytes())[1:] == expected_totals
    assert read_csv(monthly.read_bytes())[1:] == expected_months
    errors = read_csv(errors_path(output).read_bytes())[1:]
    assert {int(error[0]) for error in errors} == set(rejected) == {10, 11, 12}
    # Hand-checked (tests/test_cli.py): client A-001 pays $780 weekly, $3,900 iop, $6,000 php.
    a001 = [row for row in expected_totals if row[1] == "A-001"]
    assert [row[6] for row in a001] == ["780.00", "3900.00", "6000.00"]
    assert {row[1] for row in expected_totals if row[0] == "3"} == {"'=1+2"}


def test_cli_names_a_missing_column_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(to_csv([GOOD], tuple(name for name in REQUIRED_COLUMNS if name != "start_date")))
    code = main(["batch", str(source), "-o", str(tmp_path / "out.csv")])
    assert code == 2
    assert "missing required column start_date" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists() or (tmp_path / "out.csv").read_bytes() == b""


def test_cli_refuses_to_overwrite_its_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(to_csv([GOOD]))
    assert main(["batch", str(source), "-o", str(source)]) == 2
    assert "would overwrite the input" in capsys.readouterr().err
    assert source.read_bytes() == to_csv([GOOD])


def test_cli_refuses_to_write_two_outputs_to_one_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, output = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_bytes(to_csv([GOOD]))
    assert main(["batch", str(source), "-o", str(output), "--errors", str(output)]) == 2
    assert "--errors: is the same file as -o/--output" in capsys.readouterr().err
    assert main(["batch", str(source), "-o", str(output), "--monthly", str(errors_path(output))]) == 2
    assert "--monthly: is the same file as --errors" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["1500", "1500.0", "1,500.00", "$1,500.00", " 1500.000 ", "01500.00"])
def test_dollar_cells_read_like_parse_money(text: str, catalog: PlanCatalog) -> None:
    assert parse_money(text.strip()) == 150_000
    written = {**GOOD, "deductible_met": text, "oop_met": "1500.00"}
    plain = {**GOOD, "deductible_met": "1500.00", "oop_met": "1500.00"}
    totals, _, errors = batch_outputs(to_csv([written, plain]), catalog)
    assert errors == []
    assert [row[2:] for row in totals[:3]] == [row[2:] for row in totals[3:]]


def test_a_pathway_past_the_key_room_is_an_error_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key packs its pathway id into 20 bits; a batch needing one pathway more rejects that row.
    With room for 4, in the order rows first use them: the standard comparison takes 3 (weekly,
    iop, php), row 2's pathway the 4th, and row 3's fifth is refused; rows 1 and 2 are priced."""
    monkeypatch.setattr(batch_tables, "MAX_PATHWAYS", 4)
    catalog = load_catalog(REPO / "plans")  # its own, so no earlier batch's pathways are kept for it
    base = {"client_id": "c", "plan_id": "acme-ppo-gold-2026", "network": "in", "category": "mh"}
    rows = [
        {**base, "start_date": "2026-03-02", "deductible_met": "0"},
        {**base, "start_date": "2026-03-02", "deductible_met": "0", "pathway": "op:5"},
        {**base, "start_date": "2026-03-02", "deductible_met": "0", "pathway": "op:6"},
    ]
    source = to_csv([{**dict.fromkeys(INPUT_COLUMNS, ""), **row} for row in rows])
    totals, _, errors = batch_outputs(source, catalog)
    assert [row[0] for row in totals] == ["1", "1", "1", "2"]
    assert [error[:3] + error[4:] for error in errors] == [
        ["3", "c", "pathway", "one batch may use at most 4 different pathways"]
    ]


def test_batches_share_the_key_tables_and_agree_when_run_at_once(catalog: PlanCatalog) -> None:
    """Keys built by one batch serve the next; two batches on threads (as POST /batch runs them)
    add keys to the same tables and still write exactly what one batch alone writes."""
    source = to_csv(random_rows(11, 600, catalog))
    alone = batch_outputs(source, catalog)
    assert key_tables(catalog) is key_tables(catalog)
    fresh = load_catalog(REPO / "plans")  # no keys yet: both batches build them, at once
    with ThreadPoolExecutor(max_workers=2) as pool:
        together = list(pool.map(lambda size: batch_outputs(source, fresh, chunk_rows=size), (23, 31)))
    assert together == [alone, alone]
