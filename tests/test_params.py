"""Dated national figures (coverage.params): plan files name them; loading checks every name and date."""

from __future__ import annotations

import pytest

from coverage.params import figures
from coverage.plans import PlanCatalog, PlanFileError, parse_plan
from coverage.pricing.terms import build_terms

PLAN = """
id = "medicare-test"
name = "Medicare test"
payer = "Medicare"
kind = "medicare"
plan_year_start = "01-01"
effective = {{ start = "{start}", end = "{end}" }}

[accumulators.in_network]
deductible_individual = "{deductible}"

[benefits.mh_iop.in_network]
allowed = "290.00"
coinsurance = "20%"
deductible_applies = true
per_unit_member_cap = "national:medicare.part_a_deductible"

[program_rules]
iop = "national:medicare.iop_program_rule"
"""


PART_B = "national:medicare.part_b_deductible"


def plan_text(start: str = "2026-01-01", end: str = "2026-12-31", deductible: str = PART_B) -> str:
    return PLAN.format(start=start, end=end, deductible=deductible)


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(PlanFileError) as raised:
        parse_plan(text, "medicare-test.toml")
    return [(error.key_path, error.message) for error in raised.value.errors]


def test_a_named_figure_takes_the_value_in_force_and_cites_it() -> None:
    loaded = parse_plan(plan_text(), "medicare-test.toml")
    limits = loaded.plan.accumulators.in_network
    assert limits.deductible_individual_cents == 283_00  # 2026 Part B deductible
    assert loaded.plan.benefit("mh_iop", "in").per_unit_member_cap_cents == 1736_00  # 2026 Part A
    assert loaded.plan.program_rules.iop.min_hours_per_week == 9
    sources = build_terms(loaded, "in", "mh").sources
    assert sources["deductible_individual"].source.startswith(
        "national figure medicare.part_b_deductible from 2026-01-01 (42 CFR 410.160"
    )
    assert sources["deductible_individual"].source.endswith(
        "named in plan file medicare-test.toml [accumulators.in_network.deductible_individual]"
    )
    earlier = parse_plan(plan_text("2025-01-01", "2025-12-31"), "medicare-test.toml")
    assert earlier.plan.accumulators.in_network.deductible_individual_cents == 257_00  # 2025


def test_the_bundled_medicare_plans_name_their_figures(catalog: PlanCatalog) -> None:
    for plan_id in ("medicare-part-b-2025", "medicare-part-b-2026"):
        national = catalog.get(plan_id).national
        assert national["accumulators.in_network.deductible_individual"].name == "medicare.part_b_deductible"
        assert national["program_rules.php"].name == "medicare.php_program_rule"


def test_an_unknown_figure_is_a_located_error() -> None:
    [(key_path, message)] = problems(plan_text(deductible="national:medicare.part_c_deductible"))
    assert key_path == "accumulators.in_network.deductible_individual"
    assert message.startswith("no national figure 'medicare.part_c_deductible' (known: medicare.part_b")


def test_a_date_with_no_figure_is_a_located_error() -> None:
    found = problems(plan_text("2023-01-01", "2023-12-31"))
    assert (
        "accumulators.in_network.deductible_individual",
        "medicare.part_b_deductible has no value in force on 2023-01-01 (the first is from 2025-01-01)",
    ) in found
    assert (
        "program_rules.iop",
        "medicare.iop_program_rule has no value in force on 2023-01-01 (the first is from 2024-01-01)",
    ) in found


def test_a_figure_that_changes_within_the_plan_period_is_a_located_error() -> None:
    found = problems(plan_text("2025-07-01", "2026-06-30"))
    assert (
        "accumulators.in_network.deductible_individual",
        "medicare.part_b_deductible changes on 2026-01-01, within the effective period: split the plan",
    ) in found


def test_every_figure_lists_dated_values_with_sources() -> None:
    for name, figure in figures().items():
        assert figure.citation, name
        assert all(value.source for value in figure.values), name
