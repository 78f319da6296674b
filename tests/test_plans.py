"""Plan files: every sample loads; broken files give located errors and never stop the others."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import PLANS_DIR

from coverage.cli import main
from coverage.plans import PlanFileError, load_catalog, parse_plan

GOOD = """
id = "good-plan"
name = "Good"
payer = "P"
kind = "commercial"
plan_year_start = "01-01"
effective = { start = "2026-01-01", end = "2026-12-31" }

[accumulators.in_network]
deductible_individual = "1500.00"

[benefits.mh_iop.in_network]
allowed = "450.00"
coinsurance = "20%"
deductible_applies = true
"""


def test_every_sample_plan_loads_and_is_marked_illustrative() -> None:
    catalog = load_catalog(PLANS_DIR)
    assert catalog.errors == []
    assert len(catalog.plans) >= 6
    assert all(loaded.plan.sample_data for loaded in catalog.plans.values())
    kinds = {loaded.plan.kind for loaded in catalog.plans.values()}
    assert {"commercial", "medicare", "medicare_advantage", "medicaid"} <= kinds
    assert any(str(loaded.plan.plan_year_start) != "01-01" for loaded in catalog.plans.values())


def test_medicare_sample_carries_the_2026_figures(catalog) -> None:
    medicare = catalog.get("medicare-part-b-2026").plan
    assert medicare.accumulators.in_network.deductible_individual_cents == 28300
    assert not medicare.accumulators.in_network.has_oop_max
    iop = medicare.benefit("mh_iop", "in")
    assert iop.per_unit_member_cap_cents == 173600
    assert str(iop.coinsurance) == "20%"
    assert medicare.program_rules.iop.min_hours_per_week == 9
    assert medicare.program_rules.php.min_hours_per_week == 20
    earlier = catalog.get("medicare-part-b-2025").plan  # SPEC 5: 2025 Part B $257, Part A $1,676
    assert earlier.accumulators.in_network.deductible_individual_cents == 25700
    assert earlier.benefit("mh_php", "in").per_unit_member_cap_cents == 167600


@pytest.mark.parametrize(
    ("replace", "by", "key_path", "value", "message"),
    [
        (
            'coinsurance = "20%"',
            'coinsurance = "120%"',
            "benefits.mh_iop.in_network.coinsurance",
            "'120%'",
            "between 0% and 100%",
        ),
        (
            'allowed = "450.00"',
            'allowed = "-450.00"',
            "benefits.mh_iop.in_network.allowed",
            "'-450.00'",
            "negative",
        ),
        (
            'allowed = "450.00"',
            "allowed = 450.0",
            "benefits.mh_iop.in_network.allowed",
            "450.0",
            "quoted string",
        ),
        (
            'allowed = "450.00"',
            'allowed = "450.001"',
            "benefits.mh_iop.in_network.allowed",
            "'450.001'",
            "two decimal",
        ),
        (
            "deductible_applies = true",
            "deductible_aplies = true",
            "benefits.mh_iop.in_network.deductible_aplies",
            "True",
            "unknown key",
        ),
        (
            'plan_year_start = "01-01"',
            'plan_year_start = "02-29"',
            "plan_year_start",
            "'02-29'",
            "every year",
        ),
        (
            'kind = "commercial"',
            'kind = "ppo"',
            "kind",
            "'ppo'",
            "allowed: commercial, medicaid, medicare, medicare_advantage",
        ),
    ],
)
def test_broken_plan_gives_a_located_error(
    replace: str, by: str, key_path: str, value: str, message: str
) -> None:
    with pytest.raises(PlanFileError) as caught:
        parse_plan(GOOD.replace(replace, by), "plans/broken.toml")
    (error,) = caught.value.errors
    assert (error.file, error.key_path, error.value) == ("plans/broken.toml", key_path, value)
    assert message in error.message
    assert str(error).startswith(f"plans/broken.toml: {key_path}: ")


def test_missing_in_network_accumulators_is_named() -> None:
    text = GOOD.replace("[accumulators.in_network]", "[accumulators.in_netwrk]")
    with pytest.raises(PlanFileError) as caught:
        parse_plan(text, "p.toml")
    assert caught.value.errors[0].key_path == "accumulators.in_netwrk"


def test_cross_key_rules_report_every_problem() -> None:
    text = GOOD.replace("deductible_applies = true", "deductible_applies = true\nprior_auth = true") + (
        '\n[benefits.mh_php.in_network]\nallowed = "1.00"\ncoinsurance = "0%"\n'
        'deductible_applies = false\nno_auth = "deny"\n'
    )
    with pytest.raises(PlanFileError) as caught:
        parse_plan(text, "p.toml")
    assert [(e.key_path, e.message) for e in caught.value.errors] == [
        ("benefits.mh_iop.in_network.auth_initial_units", "prior_auth = true needs a value >= 1"),
        ("benefits.mh_iop.in_network.auth_review_units", "prior_auth = true needs a value >= 1"),
        ("benefits.mh_iop.in_network.no_auth", 'prior_auth = true needs "deny" or "penalty:N%"'),
        ("benefits.mh_php.in_network.no_auth", "is set but prior_auth is not true"),
    ]


def test_a_bad_file_does_not_stop_the_others(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "good.toml").write_text(GOOD)
    (tmp_path / "bad.toml").write_text(GOOD.replace('"20%"', '"twenty"').replace("good-plan", "bad-plan"))
    (tmp_path / "dupe.toml").write_text(GOOD)
    (tmp_path / "syntax.toml").write_text("id = ")
    catalog = load_catalog(tmp_path)
    assert list(catalog.plans) == ["good-plan"]
    assert sorted((e.file, e.key_path) for e in catalog.errors) == [
        (f"{tmp_path.name}/bad.toml", "benefits.mh_iop.in_network.coinsurance"),
        (f"{tmp_path.name}/good.toml", "id"),  # the second file with id good-plan (sorted: dupe first)
        (f"{tmp_path.name}/syntax.toml", "(syntax)"),
    ]
    assert main(["plans", "check", str(tmp_path)]) == 1
    assert "1 plan(s) loaded, 3 error(s)" in capsys.readouterr().out


def test_plans_check_passes_on_the_bundled_plans() -> None:
    assert main(["plans", "check", str(PLANS_DIR)]) == 0
