"""Parity report: the 29 CFR 2590.712(c)(3) tests on worked numbers, exact Fractions throughout."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import msgspec
import pytest
from tests.conftest import PLANS_DIR, make_plan

from coverage.cli import main
from coverage.parity.findings import ParityFinding, ParityReport
from coverage.parity.report import build_parity_report
from coverage.parity.tests import (
    decimal_text,
    predominant_level,
    requirement_level,
    run_quantitative_test,
    share_words,
)
from coverage.plans import Percent, Plan, load_catalog

ACCUMULATORS = """
[accumulators.in_network]
deductible_individual = "1000.00"
oop_max_individual = "5000.00"
"""


def office(
    copay: str = "0.00", coinsurance: str = "0%", visit_limit: int = 0, category: str = "mh_office"
) -> str:
    return f"""
[benefits.{category}.in_network]
allowed = "100.00"
copay = "{copay}"
coinsurance = "{coinsurance}"
deductible_applies = false
visit_limit = {visit_limit}
"""


def iop(copay: str = "0.00", coinsurance: str = "20%", prior_auth: bool = False) -> str:
    auth = (
        'prior_auth = true\nauth_initial_units = 12\nauth_review_units = 6\nno_auth = "deny"'
        if prior_auth
        else ""
    )
    return f"""
[benefits.mh_iop.in_network]
allowed = "400.00"
copay = "{copay}"
coinsurance = "{coinsurance}"
deductible_applies = true
{auth}
"""


def plan(benefits: str, parity: str) -> Plan:
    return make_plan(ACCUMULATORS + benefits + parity).plan


def finding(
    report: ParityReport, classification: str, type_: str, category: str | None = "mh_office"
) -> ParityFinding:
    (found,) = [
        f
        for f in report.findings
        if (f.classification, f.type, f.mhsud_category) == (classification, type_, category)
    ]
    return found


OFFICE_SINGLE_LEVEL = """
[parity.medsurg.outpatient_in_network_office]
total = "1000000.00"
copay = { "10.00" = "200000.00", "20.00" = "600000.00", "40.00" = "100000.00" }
[parity.medsurg.outpatient_in_network_all_other]
total = "500000.00"
"""


def test_single_predominant_level() -> None:
    medsurg = plan(office(copay="20.00"), OFFICE_SINGLE_LEVEL).parity
    assert medsurg is not None
    data = medsurg.medsurg.outpatient_in_network_office
    assert data is not None
    test = run_quantitative_test("outpatient_in_network_office", "copay", data)
    # subject to a copay: 200,000 + 600,000 + 100,000 = 900,000 of 1,000,000 -> 9/10 >= 2/3
    assert test.subject_cents == 900_000_00
    assert test.share == Fraction(9, 10)
    assert test.substantially_all
    # $20.00 alone: 600,000 / 900,000 = 2/3 > 1/2, so it is predominant without combining
    assert test.predominant is not None
    assert test.predominant.level.key == "20.00"
    assert not test.predominant.combined
    assert test.predominant.share == Fraction(2, 3)
    assert [level.key for level, _ in test.levels] == ["40.00", "20.00", "10.00"]  # most restrictive first


@pytest.mark.parametrize(("mh_copay", "verdict"), [("20.00", "pass"), ("15.00", "pass"), ("30.00", "fail")])
def test_mhsud_copay_against_single_predominant_level(mh_copay: str, verdict: str) -> None:
    report = build_parity_report(plan(office(copay=mh_copay), OFFICE_SINGLE_LEVEL))
    found = finding(report, "outpatient_in_network_office", "copay")
    assert found.verdict == verdict
    assert found.substantially_all_share == "0.9"
    assert found.predominant_level == "20.00"
    assert found.mhsud_level == mh_copay
    assert "$900,000.00 of the $1,000,000.00" in found.explanation
    assert "(exactly 2/3)" in found.explanation  # 600,000 / 900,000 does not end as a decimal
    table = next(
        t
        for t in report.medsurg_tables
        if (t.classification, t.type) == ("outpatient_in_network_office", "copay")
    )
    assert (table.predominant_share, table.predominant_share_exact) == ("0.666667", "2/3")
    assert [row.share_of_subject for row in table.levels] == ["0.111111", "0.666667", "0.222222"]


def test_levels_combined_from_the_most_restrictive() -> None:
    report = build_parity_report(
        plan(
            office(copay="25.00"),
            """
[parity.medsurg.outpatient_in_network_office]
total = "1000000.00"
copay = { "10.00" = "400000.00", "25.00" = "300000.00", "40.00" = "300000.00" }
[parity.medsurg.outpatient_in_network_all_other]
total = "500000.00"
""",
        )
    )
    # 1,000,000 of 1,000,000 subject -> share 1; levels 0.4 / 0.3 / 0.3: none above one-half.
    # Most restrictive first: $40 (0.3) + $25 (0.3) = 0.6 > 1/2 -> least restrictive of those, $25.
    table = next(
        t for t in report.medsurg_tables if t.type == "copay" and t.classification.endswith("office")
    )
    assert table.predominant_method == "combined"
    assert table.predominant_level == "25.00"
    assert (table.predominant_share, table.predominant_share_exact) == ("0.6", "3/5")
    assert [(row.level, row.in_predominant_combination) for row in table.levels] == [
        ("40.00", True),
        ("25.00", True),
        ("10.00", False),
    ]
    found = finding(report, "outpatient_in_network_office", "copay")
    assert found.verdict == "pass"  # $25 equals the predominant $25
    assert "combining levels from the most restrictive ($40.00 copay, $25.00 copay)" in found.explanation


def test_exactly_one_half_is_not_more_than_one_half() -> None:
    levels = [
        (requirement_level("copay", 20_00), 800_000_00),
        (requirement_level("copay", 35_00), 500_000_00),
        (requirement_level("copay", 60_00), 300_000_00),
    ]
    found = predominant_level(levels)
    assert found is not None
    # of 1,600,000: $20 = 1/2 (not more), $35 = 5/16, $60 = 3/16. $60 + $35 = 800,000 = exactly 1/2,
    # still not more than one-half, so $20 joins: 1,600,000 / 1,600,000 = 1 -> predominant $20.
    assert found.combined
    assert [level.key for level in found.combination] == ["60.00", "35.00", "20.00"]
    assert found.level.key == "20.00"
    assert (found.covered_cents, found.share) == (1_600_000_00, Fraction(1))


@pytest.mark.parametrize(
    ("total", "share", "verdict"),
    [("900000.00", Fraction(2, 3), "pass"), ("1000000.00", Fraction(3, 5), "fail")],
)
def test_two_thirds_is_inclusive(total: str, share: Fraction, verdict: str) -> None:
    parity = f"""
[parity.medsurg.outpatient_in_network_office]
total = "{total}"
copay = {{ "20.00" = "600000.00" }}
[parity.medsurg.outpatient_in_network_all_other]
total = "500000.00"
"""
    report = build_parity_report(plan(office(copay="5.00"), parity))
    # 600,000 / 900,000 = 2/3 exactly: at least two-thirds, so a $5 copay (below $20) passes;
    # 600,000 / 1,000,000 = 3/5: under two-thirds, so any MH/SUD copay fails
    table = next(
        t for t in report.medsurg_tables if t.type == "copay" and t.classification.endswith("office")
    )
    assert Fraction(table.substantially_all_share_exact) == share
    assert finding(report, "outpatient_in_network_office", "copay").verdict == verdict


def test_under_two_thirds_no_copay_allowed_on_mhsud() -> None:
    parity = """
[parity.medsurg.outpatient_in_network_office]
total = "1000000.00"
copay = { "20.00" = "600000.00" }
[parity.medsurg.outpatient_in_network_all_other]
total = "500000.00"
"""
    with_copay = build_parity_report(plan(office(copay="5.00"), parity))
    found = finding(with_copay, "outpatient_in_network_office", "copay")
    # 600,000 / 1,000,000 = 3/5 < 2/3: no predominant level, and even a $5 copay (lower than the
    # med/surg $20) fails because MH/SUD may not carry a copay here at all.
    assert (found.substantially_all_share, found.predominant_level, found.verdict) == ("0.6", None, "fail")
    assert "may not carry a copay at all" in found.explanation
    assert with_copay.verdict == "fail"
    without_copay = build_parity_report(plan(office(coinsurance="0%"), parity))
    assert finding(without_copay, "outpatient_in_network_office", "copay").verdict == "pass"


COPAY_AND_COINSURANCE = """
[parity.medsurg.outpatient_in_network_office]
total = "100000.00"
[parity.medsurg.outpatient_in_network_all_other]
total = "2000000.00"
copay = { "50.00" = "1500000.00" }
coinsurance = { "10%" = "600000.00", "20%" = "1000000.00" }
prior_auth = true
concurrent_review = true
"""


@pytest.mark.parametrize(
    ("mh_coinsurance", "coinsurance_verdict"), [("20%", "pass"), ("10%", "pass"), ("30%", "fail")]
)
def test_copay_and_coinsurance_in_one_classification(mh_coinsurance: str, coinsurance_verdict: str) -> None:
    report = build_parity_report(plan(iop(copay="50.00", coinsurance=mh_coinsurance), COPAY_AND_COINSURANCE))
    copay = finding(report, "outpatient_in_network_all_other", "copay", "mh_iop")
    coinsurance = finding(report, "outpatient_in_network_all_other", "coinsurance", "mh_iop")
    # copay: 1,500,000 / 2,000,000 = 3/4; single level $50 (1/1) -> MH/SUD $50 passes
    assert (copay.substantially_all_share, copay.predominant_level, copay.verdict) == (
        "0.75",
        "50.00",
        "pass",
    )
    # coinsurance: 1,600,000 / 2,000,000 = 4/5; 20% covers 1,000,000 / 1,600,000 = 5/8 > 1/2
    assert (coinsurance.substantially_all_share, coinsurance.predominant_level) == ("0.8", "20%")
    assert coinsurance.verdict == coinsurance_verdict
    assert "62.5%" in coinsurance.explanation


@pytest.mark.parametrize(("mh_limit", "verdict"), [(20, "fail"), (30, "pass"), (40, "pass"), (0, "pass")])
def test_visit_limit_against_predominant_limit(mh_limit: int, verdict: str) -> None:
    parity = """
[parity.medsurg.outpatient_in_network_office]
total = "1000000.00"
visit_limit = { "30" = "600000.00", "60" = "200000.00" }
[parity.medsurg.outpatient_in_network_all_other]
total = "500000.00"
"""
    report = build_parity_report(plan(office(copay="20.00", visit_limit=mh_limit), parity))
    found = finding(report, "outpatient_in_network_office", "visit_limit")
    # 800,000 / 1,000,000 = 4/5 >= 2/3; 30 visits cover 600,000 / 800,000 = 3/4 -> predominant 30.
    # A lower limit is more restrictive: 20 < 30 fails; 30, 40 and no limit pass.
    assert (found.substantially_all_share, found.predominant_level) == ("0.8", "30")
    assert found.verdict == verdict
    if verdict == "fail":
        assert "limit of 20 visits/days a year, lower than the predominant limit of 30" in found.explanation


def test_mh_visit_limit_where_medsurg_has_none_fails() -> None:
    parity = """
[parity.medsurg.outpatient_in_network_office]
total = "1000000.00"
copay = { "20.00" = "900000.00" }
[parity.medsurg.outpatient_in_network_all_other]
total = "500000.00"
"""
    report = build_parity_report(plan(office(copay="20.00", visit_limit=20), parity))
    found = finding(report, "outpatient_in_network_office", "visit_limit")
    # 0 of 1,000,000 subject to a visit limit -> share 0 -> no MH/SUD visit limit allowed at all
    assert (found.substantially_all_share, found.verdict) == ("0", "fail")
    assert found.rule == "29 CFR 2590.712(c)(3)(i)(A)"


def test_separate_mh_deductible_fails() -> None:
    parity = """
[parity]
separate_mhsud_deductible = true
[parity.medsurg.outpatient_in_network_office]
total = "1000000.00"
[parity.medsurg.outpatient_in_network_all_other]
total = "500000.00"
"""
    report = build_parity_report(plan(office(), parity))
    deductible = finding(report, "all_classifications", "deductible", None)
    assert deductible.verdict == "fail"
    assert deductible.rule == "29 CFR 2590.712(c)(3)(v)"
    assert "separate_mhsud_deductible = true" in deductible.explanation
    oop = finding(report, "all_classifications", "oop_max", None)
    assert oop.verdict == "pass"
    assert "$5,000.00 individual in network" in oop.explanation
    assert report.verdict == "fail"


@pytest.mark.parametrize(
    ("medsurg_flags", "expected"),
    [
        ("", {"prior_auth", "concurrent_review"}),
        ("prior_auth = true", {"concurrent_review"}),
        ("prior_auth = true\nconcurrent_review = true", set()),
    ],
)
def test_prior_auth_nqtl_finding(medsurg_flags: str, expected: set[str]) -> None:
    parity = f"""
[parity.medsurg.outpatient_in_network_office]
total = "1000000.00"
[parity.medsurg.outpatient_in_network_all_other]
total = "2000000.00"
coinsurance = {{ "20%" = "1800000.00" }}
deductible = {{ "1000.00" = "1800000.00" }}
{medsurg_flags}
"""
    report = build_parity_report(plan(iop(prior_auth=True), parity))
    nqtl = [f for f in report.findings if f.type in ("prior_auth", "concurrent_review")]
    assert {f.type for f in nqtl} == expected
    assert all(f.verdict == "needs_review" and f.mhsud_category == "mh_iop" for f in nqtl)
    assert all("comparative analysis" in f.explanation and "2590.712(c)(4)" in f.explanation for f in nqtl)
    summary = next(s for s in report.classifications if s.classification == "outpatient_in_network_all_other")
    assert summary.verdict == ("needs_review" if expected else "pass")


def test_no_prior_auth_on_mhsud_no_nqtl_finding() -> None:
    parity = """
[parity.medsurg.outpatient_in_network_office]
total = "1000000.00"
[parity.medsurg.outpatient_in_network_all_other]
total = "2000000.00"
coinsurance = { "20%" = "1800000.00" }
deductible = { "1000.00" = "1800000.00" }
"""
    report = build_parity_report(plan(iop(prior_auth=False), parity))
    assert not [f for f in report.findings if f.type in ("prior_auth", "concurrent_review")]
    assert report.verdict == "pass"


def test_classification_override_and_network_follow() -> None:
    benefits = (
        iop()
        + """
[accumulators.out_of_network]
deductible_individual = "2000.00"
[benefits.mh_iop.out_of_network]
allowed = "300.00"
coinsurance = "40%"
deductible_applies = true
"""
    )
    parity = """
[parity.mhsud_classification]
mh_iop = "inpatient_in_network"
[parity.medsurg.inpatient_in_network]
total = "1000000.00"
coinsurance = { "20%" = "900000.00" }
[parity.medsurg.outpatient_out_of_network]
total = "100000.00"
"""
    report = build_parity_report(plan(benefits, parity))
    placed = {(p.category, p.network): (p.classification, p.source) for p in report.placements}
    assert placed[("mh_iop", "in_network")][0] == "inpatient_in_network"
    assert placed[("mh_iop", "out_of_network")][0] == "inpatient_out_of_network"
    assert "[parity.mhsud_classification] mh_iop" in placed[("mh_iop", "in_network")][1]
    # inpatient out of network has no med/surg data: one needs-review finding instead of three tests
    missing = finding(report, "inpatient_out_of_network", "medsurg_data", "mh_iop")
    assert missing.verdict == "needs_review"
    assert "[parity.medsurg.inpatient_out_of_network]" in missing.explanation
    assert finding(report, "inpatient_in_network", "coinsurance", "mh_iop").verdict == "pass"


def test_unsplit_outpatient_takes_office_and_program_benefits() -> None:
    parity = """
[parity.medsurg.outpatient_in_network]
total = "1000000.00"
coinsurance = { "20%" = "800000.00" }
"""
    report = build_parity_report(plan(office(coinsurance="20%") + iop(coinsurance="20%"), parity))
    assert {p.classification for p in report.placements} == {"outpatient_in_network"}
    assert finding(report, "outpatient_in_network", "coinsurance", "mh_office").verdict == "pass"
    assert finding(report, "outpatient_in_network", "coinsurance", "mh_iop").verdict == "pass"


def test_classification_without_mhsud_benefits_is_not_applicable() -> None:
    parity = """
[parity.medsurg.outpatient_in_network_office]
total = "1000000.00"
[parity.medsurg.outpatient_in_network_all_other]
total = "500000.00"
[parity.medsurg.emergency]
total = "2000000.00"
copay = { "250.00" = "1800000.00" }
"""
    report = build_parity_report(plan(office(), parity))
    emergency = finding(report, "emergency", "copay", None)
    assert (emergency.verdict, emergency.substantially_all_share, emergency.predominant_level) == (
        "not_applicable",
        "0.9",
        "250.00",
    )
    summary = next(s for s in report.classifications if s.classification == "emergency")
    assert (summary.verdict, summary.finding_counts) == ("not_applicable", {"not_applicable": 3})


@pytest.mark.parametrize(
    ("share", "text", "words"),
    [
        (Fraction(7, 8), "0.875", "87.5%"),
        (Fraction(2, 3), "0.666667", "about 66.67% (exactly 2/3)"),
        (Fraction(1), "1", "100%"),
        (Fraction(0), "0", "0%"),
        (Fraction(1, 3200), "0.0003125", "0.03125%"),
    ],
)
def test_shares_as_exact_decimal_strings(share: Fraction, text: str, words: str) -> None:
    assert decimal_text(share) == text
    assert share_words(share) == words


def test_more_restrictive_ordering() -> None:
    assert (
        requirement_level("copay", 40_00).restrictiveness > requirement_level("copay", 20_00).restrictiveness
    )
    higher = requirement_level("coinsurance", Percent.parse("30%"))
    assert higher.restrictiveness > requirement_level("coinsurance", Percent.parse("20%")).restrictiveness
    assert (
        requirement_level("visit_limit", 20).restrictiveness
        > requirement_level("visit_limit", 30).restrictiveness
    )


# ---- sample plans ----------------------------------------------------------------------------

EXPECTED_SAMPLE_VERDICTS = {
    "acme-ppo-gold-2026": "pass",
    "bayview-medicaid-mco-2026": "pass",
    "harbor-hmo-2026": "pass",
    "lakeside-employer-limit-2026": "fail",
    "medicare-part-b-2025": "pass",
    "medicare-part-b-2026": "pass",
    "summit-hdhp-hsa-2026": "pass",
    "sunrise-medicare-advantage-2026": "needs_review",
}


def test_every_sample_plan_has_a_parity_report() -> None:
    catalog = load_catalog(PLANS_DIR)
    assert not catalog.errors
    reports = {plan_id: build_parity_report(loaded.plan) for plan_id, loaded in catalog.plans.items()}
    assert {plan_id: report.verdict for plan_id, report in reports.items()} == EXPECTED_SAMPLE_VERDICTS
    for report in reports.values():
        assert json.loads(msgspec.json.encode(report))["plan_id"] == report.plan_id


def test_lakeside_fails_on_its_twenty_visit_mh_limit() -> None:
    report = build_parity_report(load_catalog(PLANS_DIR).plans["lakeside-employer-limit-2026"].plan)
    failed = [
        (f.classification, f.type, f.mhsud_category, f.mhsud_network)
        for f in report.findings
        if f.verdict == "fail"
    ]
    # in network: limits cover 150,000 of 1,500,000 = 1/10 of office payments; out of network: 0
    assert failed == [
        ("outpatient_in_network_office", "visit_limit", "mh_office", "in_network"),
        ("outpatient_out_of_network", "visit_limit", "mh_office", "out_of_network"),
    ]
    assert finding(report, "outpatient_in_network_office", "visit_limit").substantially_all_share == "0.1"


def test_harbor_office_copays_combine_past_exactly_one_half() -> None:
    report = build_parity_report(load_catalog(PLANS_DIR).plans["harbor-hmo-2026"].plan)
    table = next(
        t
        for t in report.medsurg_tables
        if (t.classification, t.type) == ("outpatient_in_network_office", "copay")
    )
    # 1,600,000 of 2,000,000 = 0.8; $60 + $35 = 800,000 of 1,600,000 = 1/2 exactly, so $20 joins
    assert (table.substantially_all_share, table.predominant_method, table.predominant_level) == (
        "0.8",
        "combined",
        "20.00",
    )
    assert [row.share_of_subject for row in table.levels] == ["0.1875", "0.3125", "0.5"]
    php = finding(report, "inpatient_in_network", "copay", "mh_php")
    assert (php.predominant_level, php.mhsud_level, php.verdict) == ("100.00", "100.00", "pass")


# ---- CLI -------------------------------------------------------------------------------------


def test_cli_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["parity", "--plan", "lakeside-employer-limit-2026", "--plans-dir", str(PLANS_DIR), "--json"])
    assert code == 1  # the verdict is FAIL
    report = json.loads(capsys.readouterr().out)
    assert report["plan_id"] == "lakeside-employer-limit-2026"
    assert report["verdict"] == "fail"
    keys = {
        "classification",
        "type",
        "substantially_all_share",
        "predominant_level",
        "mhsud_category",
        "mhsud_level",
        "verdict",
        "explanation",
    }
    assert all(keys <= finding.keys() for finding in report["findings"])
    assert {s["classification"]: s["verdict"] for s in report["classifications"]} == {
        "inpatient_in_network": "not_applicable",
        "outpatient_in_network_office": "fail",
        "outpatient_in_network_all_other": "needs_review",
        "outpatient_out_of_network": "fail",
    }


def test_cli_text_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parity", "--plan", "acme-ppo-gold-2026", "--plans-dir", str(PLANS_DIR)]) == 0
    out = capsys.readouterr().out
    assert "Overall verdict: PASS" in out
    assert "outpatient_in_network_office     PASS" in out
    # 20% coinsurance: 6,000,000 of 6,800,000 = 15/17, which has no exact decimal
    assert "predominant 20% coinsurance (single_level, share 0.882353)" in out


def test_cli_unknown_plan_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parity", "--plan", "nope", "--plans-dir", str(PLANS_DIR)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("coverage: error: --plan: no plan 'nope'")
    assert err.count("\n") == 1


def test_cli_plan_without_parity_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (PLANS_DIR / "summit-hdhp-hsa-2026.toml").read_text(encoding="utf-8")
    (tmp_path / "summit.toml").write_text(text.split("# ---- Parity report inputs")[0], encoding="utf-8")
    assert main(["parity", "--plan", "summit-hdhp-hsa-2026", "--plans-dir", str(tmp_path)]) == 2
    assert "has no [parity] section" in capsys.readouterr().err
