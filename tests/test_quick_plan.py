"""Core helpers behind the Compare page: a plan from typed numbers, results in plain words."""

from __future__ import annotations

import datetime as dt

import pytest

from coverage.errors import InputError
from coverage.estimate import Estimate, EstimateRequest, estimate_with_terms
from coverage.i18n import translations
from coverage.plain_language import about_monthly, plain_estimate
from coverage.pricing.terms import build_terms
from coverage.quick_plan import ENTERED, QUICK_PLAN_ID, quick_plan

START = dt.date(2026, 3, 2)


def priced(copay: str, coinsurance: str, deductible: str, oop_max: str) -> Estimate:
    loaded = quick_plan(
        copay=copay, coinsurance=coinsurance, deductible=deductible, oop_max=oop_max, start_date=START
    )
    request = EstimateRequest(plan_id=QUICK_PLAN_ID, start_date=START)
    return estimate_with_terms(loaded, request, build_terms(loaded, "in", "mh"))


def test_no_copay_means_deductible_then_coinsurance_for_therapy() -> None:
    result = priced(copay="", coinsurance="20%", deductible="1000", oop_max="")
    weekly = result.scenarios[0]
    # 26 sessions at the $150 standard rate: 6 go to the deductible ($900), the 7th takes the last $100
    # plus 20% x $50 = $10, the other 19 cost 20% x $150 = $30 -> $900 + $110 + $570 = $1,580.00
    assert (weekly.totals.deductible_cents, weekly.totals.member_cost_cents) == (1_000_00, 1_580_00)
    sources = {s.name: (s.value, s.source) for s in result.sources}
    assert sources["oop_max_individual"] == ("none", ENTERED)
    assert sources["mh_office.coinsurance"] == ("20%", ENTERED)
    assert sources["mh_office.allowed"][1].startswith("standard rate per unit")
    assert "The plan has no out-of-pocket maximum: client cost has no annual cap." in result.assumptions


def test_copay_waives_the_deductible_for_therapy_only() -> None:
    result = priced(copay="25.00", coinsurance="10", deductible="500", oop_max="3000")
    weekly, iop, _ = result.scenarios
    assert weekly.totals.member_cost_cents == 26 * 25_00
    sources = {s.name: s.source for s in result.sources}
    assert sources["mh_office.copay"] == ENTERED
    assert sources["mh_office.deductible_applies"].startswith("Compare page rule")
    # iop: 24 x $500 = $12,000 -> $500 + 10% x $11,500 = $1,650; + 18 x $25 = $450 -> $2,100.00
    assert iop.totals.member_cost_cents == 2_100_00


def test_every_unusable_number_is_named() -> None:
    with pytest.raises(InputError) as raised:
        quick_plan(copay="-5", coinsurance="abc", deductible="1.234", oop_max="x", start_date=START)
    assert [problem.field for problem in raised.value.problems] == [
        "copay",
        "coinsurance",
        "deductible",
        "oop_max",
    ]
    with pytest.raises(InputError) as raised:
        quick_plan(copay="", coinsurance="0", deductible="2000", oop_max="1000", start_date=START)
    [error] = raised.value.problems
    assert (error.field, error.message) == (
        "oop_max",
        "must be at least the deductible (or left blank: no maximum)",
    )


@pytest.mark.parametrize(
    ("cents", "weeks", "expected"),
    [
        (3_360_00, 8, "$1,820"),  # $420 a week x 52/12
        (150, 13, "$1"),  # exactly $0.50 a month: half-up
        (149, 13, "$0"),  # $0.4967 a month
        (0, 26, "$0"),
        (120_000_00, 52, "$10,000"),  # 52 weeks are twelve months
    ],
)
def test_about_monthly(cents: int, weeks: int, expected: str) -> None:
    assert about_monthly(cents, weeks) == expected


def test_blank_deductible_or_coinsurance_is_never_free_care() -> None:
    with pytest.raises(InputError) as raised:
        quick_plan(copay="", coinsurance="", deductible="", oop_max="", start_date=START)
    assert [(e.field, e.message) for e in raised.value.problems] == [
        ("coinsurance", "is required: your share after the deductible, 0 if none"),
        ("deductible", "is required: 0 if the plan has none"),
    ]


def test_plain_words_name_the_real_months() -> None:
    result = priced(copay="30", coinsurance="20", deductible="1500", oop_max="6000")
    weekly, iop, php = plain_estimate(result, "en", translations("en")).scenarios
    # weekly: Mondays from 03-02: 5 in March x $30 = $150; after that $30 a week x 52/12 = $130 a month
    assert weekly.summary == "$150 in March, then about $130 a month; $780.00 in total over 26 weeks."
    # iop at the standard $500/day, Mon/Wed/Fri from 03-02: March has 13 days (2..30): $1,500 +
    # 20% x ($6,500 - $1,500) = $2,500; April 11 days (1..24) x $100 + the 04-27 session $30 = $1,130;
    # then $30 sessions, about $130 a month; total $2,500 + $1,100 + 18 x $30 = $4,140
    assert iop.summary == (
        "$2,500 in March, $1,130 in April, then about $130 a month; $4,140.00 in total over 26 weeks."
    )
    assert iop.label == "IOP, then weekly therapy"
    assert iop.steps == [
        "Intensive outpatient program (IOP): 8 weeks, 24 program days",
        "Weekly therapy: 18 weeks, 18 sessions",
    ]
    # php: March 15 PHP days ($1,500 + 20% x $12,000 = $3,900) + 4 IOP days x $100 = $4,300
    assert php.summary.startswith("$4,300 in March, ")
    assert php.summary.endswith("; $6,000.00 in total over 26 weeks.")
    assert "about $0" not in php.summary


def test_plain_words_in_spanish() -> None:
    result = priced(copay="30", coinsurance="20", deductible="1500", oop_max="")
    plain = plain_estimate(result, "es", translations("es"))
    weekly = plain.scenarios[0]
    assert weekly.summary == "$150 en marzo, y después unos $130 al mes; $780.00 en total en 26 semanas."
    assert plain.start_date == "2 de marzo de 2026"
    assert plain.up_front == [
        "Su plan no tiene un límite anual de lo que usted paga (no hay máximo de gastos de bolsillo): "
        "su parte sigue sumando mientras dure la atención."
    ]
