"""An estimate said in plain words for prospective clients (the public Compare page).

"About $1,820 a month for 8 weeks of the intensive outpatient program (IOP), then about
$130 a month for 18 weeks of weekly therapy; $3,900.00 in total over 26 weeks." Monthly
figures are averages over each level's weeks (a month being 52/12 weeks), rounded half-up to
whole dollars and said with "about"; a level shorter than a month gets its exact cost
instead, and totals stay exact.
"""

from __future__ import annotations

import datetime as dt

from msgspec import Struct

from coverage.estimate import Estimate, Scenario
from coverage.levels import Level
from coverage.money import format_usd
from coverage.pricing.report import LevelSummary

PLAIN_LEVEL_NAMES: dict[Level, str] = {
    "op": "weekly therapy",
    "iop": "the intensive outpatient program (IOP)",
    "php": "the partial hospitalization program (PHP)",
}


class PlainScenario(Struct, kw_only=True):
    name: str
    label: str
    recommended: bool
    total_cents: int
    summary: str
    highest_month: str  # "" when the scenario costs nothing


def about_monthly(cost_cents: int, weeks: int) -> str:
    """Average cost per month over `weeks` weeks in whole dollars: (3360_00, 8) -> "$1,820"."""
    numerator, denominator = cost_cents * 52, weeks * 12 * 100  # cents per week x 52/12, in dollars
    dollars = (2 * numerator + denominator) // (2 * denominator)  # half-up, amounts are never negative
    return f"${dollars:,}"


def _weeks(count: int) -> str:
    return f"{count} week{'s' * (count != 1)}"


def _level_phrase(part: LevelSummary) -> str:
    """A monthly average, or for a level shorter than a month its exact cost."""
    span = f"for {_weeks(part.weeks)} of {PLAIN_LEVEL_NAMES[part.level]}"
    if part.weeks * 12 < 52:
        return f"{format_usd(part.member_cost_cents)} {span}"
    return f"about {about_monthly(part.member_cost_cents, part.weeks)} a month {span}"


def month_name(key: str, style: str = "%B %Y") -> str:
    """A "2026-03" month key in words: "March 2026" (or "Mar 2026" with style "%b %Y")."""
    return dt.date(int(key[:4]), int(key[5:]), 1).strftime(style)


def plain_scenario(scenario: Scenario, horizon_weeks: int) -> PlainScenario:
    phrases = ", then ".join(_level_phrase(part) for part in scenario.levels)
    total = scenario.totals.member_cost_cents
    summary = (
        f"{phrases[:1].upper()}{phrases[1:]}; {format_usd(total)} in total over {_weeks(horizon_weeks)}."
    )
    peak = max(scenario.months, key=lambda month: month.member_cost_cents, default=None)
    highest = (
        f"The most expensive month is {month_name(peak.month)}: {format_usd(peak.member_cost_cents)}."
        if peak is not None and peak.member_cost_cents > 0
        else ""
    )
    return PlainScenario(
        name=scenario.name,
        label=scenario.label,
        recommended=scenario.recommended,
        total_cents=total,
        summary=summary,
        highest_month=highest,
    )


def plain_scenarios(result: Estimate) -> list[PlainScenario]:
    """One plain summary per scenario, in the estimate's order."""
    return [plain_scenario(scenario, result.horizon_weeks) for scenario in result.scenarios]
