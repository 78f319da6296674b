"""The screening rubric: each level, each override, the boundaries, the CLI and the web endpoint."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import get_args

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import TestClient
from tests.conftest import PLANS_DIR

from coverage.cli import main
from coverage.errors import InputError
from coverage.estimate import EstimateRequest, estimate
from coverage.plans import PlanCatalog
from coverage.screening.answers import (
    CRISIS_RESOURCES,
    SCREENING_ALLOWED,
    SCREENING_DISCLAIMER,
    SCREENING_QUESTIONS,
    AsamLevel,
    ScreeningAnswers,
    parse_screening_answers,
)
from coverage.screening.rubric import ASAM_LEVELS, RECOMMENDATION_ORDER, SCREENING_RULES, recommend_level
from coverage.web import create_app

# The calmest answers: nothing fires, so the rubric says weekly therapy.
CALM: dict[str, object] = {
    "symptom_severity": "mild",
    "crisis_frequency": "none",
    "safety_concerns": "none",
    "coping_skills": "solid",
    "support_system": "strong",
    "co_occurring": "none",
    "stepping_down_from": "none",
    "months_without_progress": 0,
    "medical_stability": "stable",
    "home_situation": "safe_stable",
    "attendance": "5_days",
}
SAFETY_TRIGGERS = [
    {"safety_concerns": "plan_or_intent"},
    {"symptom_severity": "cannot_care_for_self"},
    {"medical_stability": "unstable"},
    {"home_situation": "no_safe_place"},
]


def recommend(**changes: object):
    return recommend_level(parse_screening_answers(CALM | changes))


@pytest.mark.parametrize(
    ("changes", "level"),
    [
        ({}, "op"),
        ({"coping_skills": "few"}, "op"),  # one complicating factor is not enough
        ({"crisis_frequency": "monthly"}, "op"),  # boundary: monthly crises are only a factor
        ({"crisis_frequency": "weekly"}, "iop"),  # boundary: weekly crises call for IOP
        ({"months_without_progress": 2}, "op"),  # boundary: 2 months is not yet the line
        ({"months_without_progress": 3}, "iop"),  # boundary: 3 months is
        ({"stepping_down_from": "php"}, "iop"),
        ({"safety_concerns": "passive_ideation"}, "iop"),
        ({"coping_skills": "few", "support_system": "none"}, "iop"),  # two factors
        ({"symptom_severity": "moderate", "co_occurring": "active"}, "iop"),
        # IOP-level signal + 2 factors stays IOP; + 3 factors steps up to PHP
        ({"crisis_frequency": "weekly", "coping_skills": "few", "support_system": "none"}, "iop"),
        (
            {
                "crisis_frequency": "weekly",
                "coping_skills": "few",
                "support_system": "none",
                "home_situation": "unstable",
            },
            "php",
        ),
        ({"crisis_frequency": "daily"}, "php"),
        ({"stepping_down_from": "hospital"}, "php"),
        ({"stepping_down_from": "residential"}, "php"),
        ({"safety_concerns": "active_ideation"}, "php"),
        ({"symptom_severity": "severe"}, "php"),
        *((trigger, "refer_higher") for trigger in SAFETY_TRIGGERS),
    ],
)
def test_rubric_levels(changes: dict[str, object], level: str) -> None:
    recommendation = recommend(**changes)
    assert recommendation.level == level
    assert recommendation.basis == "rubric"


def test_issue_example_iop_for_stalled_therapy_and_weekly_crises() -> None:
    recommendation = recommend(months_without_progress=4, crisis_frequency="weekly")
    assert recommendation.level == "iop"
    assert any("3 or more months of weekly therapy without progress" in r for r in recommendation.reasons)
    assert any("crises about weekly" in r for r in recommendation.reasons)
    why_not = {alt.level: alt for alt in recommendation.alternatives_considered}
    assert not why_not["php"].indicated
    assert "crises about daily" in why_not["php"].why  # names what PHP would need
    assert why_not["op"].why.startswith("Less care than indicated")


@pytest.mark.parametrize(
    ("score", "level"),
    [
        *((score, "op") for score in (7, 9, 10, 13, 14, 16)),
        *((score, "iop") for score in (17, 19)),
        *((score, "php") for score in (20, 22)),
        *((score, "refer_higher") for score in (23, 27, 28, 35)),
    ],
)
def test_locus_composite_wins_over_the_rubric(score: int, level: str) -> None:
    # the rubric alone says PHP (daily crises); the clinician's score decides
    recommendation = recommend(crisis_frequency="daily", locus_composite=score)
    assert (recommendation.level, recommendation.basis) == (level, "locus")
    assert any("wins over the screening rubric" in r for r in recommendation.reasons)


@pytest.mark.parametrize(
    ("asam", "level"),
    [
        *((asam, "op") for asam in ("0.5", "1", "1.5", "1.7")),
        ("2.1", "iop"),
        *((asam, "php") for asam in ("2.5", "2.7")),
        *((asam, "refer_higher") for asam in ("3.1", "3.3", "3.5", "3.7", "4")),
    ],
)
def test_asam_level_wins_over_the_rubric(asam: str, level: str) -> None:
    recommendation = recommend(asam_level=asam)  # the rubric alone says weekly therapy
    assert (recommendation.level, recommendation.basis) == (level, "asam")


def test_every_asam_level_maps() -> None:
    assert set(ASAM_LEVELS) == set(get_args(AsamLevel))


def test_clinician_override_lists_the_rubric_level_as_indicated() -> None:
    recommendation = recommend(crisis_frequency="daily", asam_level="2.1")
    rubric_php = next(alt for alt in recommendation.alternatives_considered if alt.level == "php")
    assert rubric_php.indicated and "clinician's ASAM level 2.1 wins" in rubric_php.why


@pytest.mark.parametrize("trigger", SAFETY_TRIGGERS)
@pytest.mark.parametrize("clinician", [{"locus_composite": 12}, {"asam_level": "1"}, {}])
def test_safety_override_beats_locus_and_asam(
    trigger: dict[str, object], clinician: dict[str, object]
) -> None:
    recommendation = recommend(**trigger, **clinician)
    assert recommendation.level == "refer_higher"
    assert recommendation.basis == "rubric"
    assert recommendation.crisis_resources == CRISIS_RESOURCES
    assert "988" in CRISIS_RESOURCES
    if clinician:
        assert any("safety override wins over the clinician's" in r for r in recommendation.reasons)


answers_strategy = st.fixed_dictionaries(
    {
        name: st.integers(0, 240) if name == "months_without_progress" else st.sampled_from(values)
        for name, values in (
            (field.name, get_args(field.type)) for field in msgspec.structs.fields(ScreeningAnswers)
        )
        if name in CALM
    },
    optional={"locus_composite": st.integers(7, 35)},
).map(lambda answers: parse_screening_answers(answers))


@given(answers_strategy, st.sampled_from(SAFETY_TRIGGERS))
def test_imminent_risk_refers_higher_whatever_else_is_answered(
    screening: ScreeningAnswers, trigger: dict[str, object]
) -> None:
    recommendation = recommend_level(msgspec.structs.replace(screening, **trigger))
    assert recommendation.level == "refer_higher"
    assert recommendation.crisis_resources == CRISIS_RESOURCES


@given(answers_strategy)
def test_disclaimer_and_every_other_level_always_present(screening: ScreeningAnswers) -> None:
    recommendation = recommend_level(screening)
    assert recommendation.disclaimer == SCREENING_DISCLAIMER
    assert json.loads(msgspec.json.encode(recommendation))["disclaimer"] == SCREENING_DISCLAIMER
    others = [alt.level for alt in recommendation.alternatives_considered]
    assert others == [level for level in RECOMMENDATION_ORDER if level != recommendation.level]
    assert recommendation.reasons


def test_crisis_text_whenever_ideation_is_reported() -> None:
    assert recommend(safety_concerns="passive_ideation").crisis_resources == CRISIS_RESOURCES
    assert recommend().crisis_resources is None


def test_attendance_is_a_barrier_not_a_downgrade() -> None:
    recommendation = recommend(crisis_frequency="daily", attendance="3_to_4_days")
    assert recommendation.level == "php"
    assert any(
        r.startswith("Barrier: the client can attend 3 to 4 days a week") for r in recommendation.reasons
    )
    iop = next(alt for alt in recommendation.alternatives_considered if alt.level == "iop")
    assert iop.why.startswith("The most the client says they can attend")
    assert not any(r.startswith("Barrier") for r in recommend(crisis_frequency="daily").reasons)


def test_rule_table_is_well_formed() -> None:
    """Every rule names a real signal and real answers; every clinical signal has a rule."""
    for rule in SCREENING_RULES:
        allowed = SCREENING_ALLOWED[rule.signal]
        assert all(answer in allowed for answer in rule.answers), rule
        assert bool(rule.answers) != (rule.at_least is not None), rule
    cited = {rule.signal for rule in SCREENING_RULES}
    assert cited == set(CALM) - {"attendance"}  # attendance is a feasibility check, not a rule
    assert set(SCREENING_QUESTIONS) == set(SCREENING_ALLOWED)


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        (CALM | {"crisis_frequency": "often"}, "crisis_frequency", "one of none, monthly, weekly, daily"),
        ({k: v for k, v in CALM.items() if k != "attendance"}, "attendance", "is required"),
        (CALM | {"mood": "low"}, "mood", "is not a screening answer"),
        (CALM | {"months_without_progress": -1}, "months_without_progress", "from 0 to 240"),
        (CALM | {"locus_composite": 6}, "locus_composite", "from 7 to 35"),
        (CALM | {"asam_level": 2.1}, "asam_level", "one of 0.5, 1,"),
        (CALM | {"locus_composite": 15, "asam_level": "2.1"}, "asam_level", "not both"),
        ([CALM], "answers", "Expected `object`"),
    ],
)
def test_bad_answers_name_the_field(data: object, field: str, text: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_screening_answers(data)
    assert raised.value.field == field
    assert text in raised.value.message


def test_form_text_is_read_as_numbers_only_when_asked() -> None:
    form = CALM | {"months_without_progress": "3", "locus_composite": "18"}
    assert parse_screening_answers(form, from_text=True).months_without_progress == 3
    with pytest.raises(InputError):
        parse_screening_answers(form)


@pytest.mark.parametrize("text", ["1e1", "3.0", "-0", "null", " 3"])
@pytest.mark.parametrize("field", ["months_without_progress", "locus_composite"])
def test_form_text_numbers_are_digits_only(field: str, text: str) -> None:
    """As the estimate form's whole numbers: "1e1" is not silently 10, nor "null" silently omitted."""
    form = CALM | {"months_without_progress": "0", field: text}
    with pytest.raises(InputError) as raised:
        parse_screening_answers(form, from_text=True)
    assert raised.value.field == field
    assert f"(got {text!r})" in raised.value.message


def test_recommendation_marks_the_estimate_scenario(catalog: PlanCatalog) -> None:
    recommendation = recommend(months_without_progress=4, crisis_frequency="weekly")
    request = EstimateRequest(
        plan_id="acme-ppo-gold-2026", start_date=dt.date(2026, 3, 2), recommended_level=recommendation.level
    )
    scenarios = estimate(catalog, request).scenarios
    assert (scenarios[0].name, scenarios[0].recommended) == ("iop", True)
    assert [s.name for s in scenarios if s.recommended] == ["iop"]


# --- CLI -----------------------------------------------------------------------------------------


def flags(answers: dict[str, object]) -> list[str]:
    return [part for name, value in answers.items() for part in ("--" + name.replace("_", "-"), str(value))]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["recommend", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_flags_print_a_readable_result(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, *flags(CALM | {"crisis_frequency": "weekly"}))
    assert code == 0
    assert out.startswith("Recommended: Intensive outpatient program (IOP)  (basis: screening rubric)")
    assert SCREENING_DISCLAIMER in out


def test_cli_json_file_with_flag_override(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(CALM))
    code, out, _ = run_cli(capsys, "--json", str(answers), "--asam-level", "2.5", "--output", "json")
    assert code == 0
    result = json.loads(out)
    assert (result["level"], result["basis"]) == ("php", "asam")
    assert result["disclaimer"] == SCREENING_DISCLAIMER


def test_cli_json_from_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(json.dumps(CALM | {"safety_concerns": "plan_or_intent"}).encode()))
    monkeypatch.setattr("sys.stdin", stdin)
    code, out, _ = run_cli(capsys, "--json", "-", "--output", "json")
    assert code == 0
    assert json.loads(out)["level"] == "refer_higher"
    assert "988" in json.loads(out)["crisis_resources"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            flags(CALM | {"crisis_frequency": "often"}),
            "--crisis-frequency: must be one of none, monthly, weekly, daily (got 'often')",
        ),
        (
            flags(CALM | {"months_without_progress": "two"}),
            "--months-without-progress: must be a whole number",
        ),
        (flags({"crisis_frequency": "weekly"}), "--symptom-severity: is required: one of mild, moderate"),
        (["--json", "/does/not/exist.json"], "--json: cannot read /does/not/exist.json"),
    ],
)
def test_cli_bad_value_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith(f"coverage: error: {message}")
    assert err.count("\n") == 1


def test_cli_bad_json_value_names_the_key(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(CALM | {"attendance": "weekends"}))
    code, _, err = run_cli(capsys, "--json", str(answers))
    assert code == 2
    assert err.startswith("coverage: error: attendance (in --json): must be one of 5_days, 3_to_4_days")


# --- web: POST /levels/recommend (staff) ---------------------------------------------------------

STAFF = {"X-API-Key": "test-staff-key"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(PLANS_DIR, api_keys=["test-staff-key"])) as test_client:
        yield test_client


def test_web_recommendation_matches_the_core(client: TestClient) -> None:
    answers = CALM | {"safety_concerns": "plan_or_intent", "asam_level": "1"}
    response = client.post("/levels/recommend", json=answers, headers=STAFF)
    assert response.status_code == 200
    body = response.json()
    assert body == json.loads(
        msgspec.json.encode(recommend(safety_concerns="plan_or_intent", asam_level="1"))
    )
    assert (body["level"], body["basis"], body["disclaimer"]) == (
        "refer_higher",
        "rubric",
        SCREENING_DISCLAIMER,
    )
    assert "988" in body["crisis_resources"]


def test_web_bad_answers_get_400_naming_each_field(client: TestClient) -> None:
    answers = {k: v for k, v in CALM.items() if k != "attendance"} | {"crisis_frequency": "often"}
    response = client.post("/levels/recommend", json=answers, headers=STAFF)
    assert response.status_code == 400
    errors = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert errors["crisis_frequency"] == "must be one of none, monthly, weekly, daily; got 'often'"
    assert errors["attendance"] == "is required"


def test_web_rule_across_fields_names_its_field(client: TestClient) -> None:
    answers = CALM | {"locus_composite": 15, "asam_level": "2.1"}
    response = client.post("/levels/recommend", json=answers, headers=STAFF)
    assert response.status_code == 400
    rule = "give one clinician score, locus_composite or asam_level, not both"
    assert response.json()["errors"] == [{"field": "asam_level", "message": rule}]


def test_web_recommendation_is_staff_only(client: TestClient) -> None:
    assert client.post("/levels/recommend", json=CALM).status_code == 401
