"""An estimate said in the visitor's words, in English or Spanish (the public Compare page and
the family handout).

Monthly sentences name the real months: "$2,370 in March, $1,020 in April, then about $130 a
month; $3,900.00 in total over 26 weeks." Months are listed with their exact cost until the
rest of the scenario costs the same per session or program day; from there it says "about $X a
month" (that cost x units per week x 52/12, rounded half-up to whole dollars), or "then
nothing more" when that cost is $0. Totals stay exact. Nothing here uses plan-file key paths,
CPT codes or "units": those stay on the staff pages.
"""

from __future__ import annotations

import datetime as dt
import gettext

from babel.dates import format_date, format_skeleton
from msgspec import Struct

from coverage.estimate import Estimate, Scenario
from coverage.i18n import N_
from coverage.levels import Level
from coverage.money import format_usd
from coverage.pricing.report import LevelSummary, MonthSummary

Gettext = gettext.NullTranslations

LEVEL_NAMES: dict[Level, str] = {  # inside a sentence
    "op": N_("weekly therapy"),
    "iop": N_("the intensive outpatient program (IOP)"),
    "php": N_("the partial hospitalization program (PHP)"),
}
LEVEL_TITLES: dict[Level, str] = {"op": N_("Weekly therapy"), "iop": N_("IOP"), "php": N_("PHP")}
_LATER_TITLES: dict[Level, str] = {"op": N_("weekly therapy"), "iop": N_("IOP"), "php": N_("PHP")}
LEVEL_DESCRIPTIONS: dict[Level, tuple[str, str]] = {
    "op": (
        N_("Weekly therapy"),
        N_(
            "One therapy session of about 50 minutes a week with a licensed clinician; open-ended, "
            "and the usual next step after a program."
        ),
    ),
    "iop": (
        N_("Intensive outpatient program (IOP)"),
        N_(
            "About 3 hours a day, 3 days a week, usually for 6 to 12 weeks: group and individual "
            "therapy while you live at home and keep most of your routine."
        ),
    ),
    "php": (
        N_("Partial hospitalization program (PHP)"),
        N_(
            "About 6 hours a day, 5 days a week, usually for 2 to 4 weeks: hospital-level care "
            "during the day, home at night."
        ),
    ),
}


class PlainScenario(Struct, kw_only=True):
    name: str
    label: str  # "PHP, then IOP, then weekly therapy"
    recommended: bool
    total_cents: int
    summary: str
    steps: list[str]  # "Partial hospitalization program (PHP): 3 weeks, 15 program days"
    notes: list[str]  # what a family should know about this option


class PlainEstimate(Struct, kw_only=True):
    language: str
    scenarios: list[PlainScenario]
    up_front: list[str]  # prior authorization, no yearly limit: said before the numbers
    assumptions: list[str]
    start_date: str  # "March 2, 2026"
    month_labels: dict[str, str]  # "2026-03" -> "Mar 2026" in the page's language


def about_monthly(cost_cents: int, weeks: int) -> str:
    """Average cost per month over `weeks` weeks in whole dollars: (3360_00, 8) -> "$1,820"."""
    numerator, denominator = cost_cents * 52, weeks * 12 * 100  # cents per week x 52/12, in dollars
    dollars = (2 * numerator + denominator) // (2 * denominator)  # half-up, amounts are never negative
    return f"${dollars:,}"


def amount(cents: int) -> str:
    """Exact, without ".00" on whole dollars: "$2,370", "$1,020.50"."""
    return format_usd(cents).removesuffix(".00")


def month_name(key: str, style: str = "%B %Y") -> str:
    """A "2026-03" month key in English words: "March 2026" (or "Mar 2026" with style "%b %Y")."""
    return dt.date(int(key[:4]), int(key[5:]), 1).strftime(style)


def _month(key: str, language: str, skeleton: str = "") -> str:
    """"2026-03" as "March" (no skeleton) or by a CLDR skeleton: "yMMMM" "March 2026" / "marzo de 2026"."""
    day = dt.date(int(key[:4]), int(key[5:]), 1)
    if not skeleton:
        return format_date(day, "LLLL", locale=language)
    return format_skeleton(skeleton, day, locale=language)


def _units(t: Gettext, level: Level, count: int) -> str:
    if level == "op":
        return t.ngettext("%(num)d session", "%(num)d sessions", count) % {"num": count}
    return t.ngettext("%(num)d program day", "%(num)d program days", count) % {"num": count}


def _weeks(t: Gettext, count: int) -> str:
    return t.ngettext("%(num)d week", "%(num)d weeks", count) % {"num": count}


def _and(t: Gettext, items: list[str]) -> str:
    if len(items) < 2:
        return "".join(items)
    return t.gettext("{first} and {last}").format(first=", ".join(items[:-1]), last=items[-1])


def scenario_label(t: Gettext, scenario: Scenario) -> str:
    """ "PHP, then IOP, then weekly therapy"."""
    first, *later = scenario.levels
    label = t.gettext(LEVEL_TITLES[first.level])
    for part in later:
        label = t.gettext("{first}, then {rest}").format(
            first=label, rest=t.gettext(_LATER_TITLES[part.level])
        )
    return label


def _steady_tail(months: list[MonthSummary], tail_from: str) -> tuple[int, int] | None:
    """(index of the first month of the steady tail, cost per unit in it), or None.

    The tail is at least two months from `tail_from` on in which every unit costs the same."""
    start = next((i for i, month in enumerate(months) if month.month >= tail_from), None)
    if start is None:
        return None
    per_unit: int | None = None
    start_of_tail = len(months)
    for index in range(len(months) - 1, start - 1, -1):
        month = months[index]
        if month.units == 0 or month.member_cost_cents % month.units:
            break
        cost = month.member_cost_cents // month.units
        if per_unit is not None and cost != per_unit:
            break
        per_unit, start_of_tail = cost, index
    return (start_of_tail, per_unit) if per_unit is not None and start_of_tail < len(months) - 1 else None


def _summary(t: Gettext, language: str, scenario: Scenario, horizon_weeks: int) -> str:
    total = scenario.totals.member_cost_cents
    ending = t.gettext("{amount} in total over {weeks}.").format(
        amount=format_usd(total), weeks=_weeks(t, horizon_weeks)
    )
    if total == 0:
        return t.gettext("You would pay nothing for this care.")
    months = scenario.months
    last: LevelSummary = scenario.levels[-1]
    weeks_before = sum(part.weeks for part in scenario.levels[:-1])
    tail_start = scenario.start_date + dt.timedelta(weeks=weeks_before)
    first_full = tail_start if tail_start.day == 1 else (tail_start.replace(day=28) + dt.timedelta(days=4))
    tail = _steady_tail(months, f"{first_full:%Y-%m}")
    listed = months if tail is None else months[: tail[0]]
    parts = [
        t.gettext("{amount} in {month}").format(
            amount=amount(m.member_cost_cents), month=_month(m.month, language)
        )
        for m in listed
    ]
    if tail is not None:
        per_unit = tail[1]
        if per_unit == 0:
            after = t.gettext("nothing from {month} on").format(month=_month(months[tail[0]].month, language))
        else:
            monthly = about_monthly(per_unit * last.units, last.weeks)
            after = t.gettext("about {amount} a month").format(amount=monthly)
        parts.append(t.gettext("then {rest}").format(rest=after) if parts else after)
    sentence = ", ".join(parts) if tail is not None else _and(t, parts)
    return f"{sentence[:1].upper()}{sentence[1:]}; {ending}"


def _scenario_notes(t: Gettext, language: str, scenario: Scenario) -> list[str]:
    notes = []
    for part in scenario.levels:
        if part.not_covered_cents:
            notes.append(
                t.gettext(
                    "Your plan does not cover {level} here, so you would pay the program's own price: "
                    "{amount} in all."
                ).format(level=t.gettext(LEVEL_NAMES[part.level]), amount=amount(part.not_covered_cents))
            )
    if scenario.totals.penalty_cents:
        notes.append(
            t.gettext("Without your plan's approval it pays less: {amount} more for you.").format(
                amount=amount(scenario.totals.penalty_cents)
            )
        )
    reached = next(
        (m for m in scenario.months if m.accumulators.oop_remaining_cents == 0 and m.member_cost_cents), None
    )
    if reached is not None:
        notes.append(
            t.gettext(
                "You reach your plan's yearly limit (out-of-pocket maximum) in {month}; after that, "
                "covered care costs you nothing until your plan year starts again."
            ).format(month=_month(reached.month, language, "yMMMM"))
        )
    codes = {flag.code for flag in scenario.flags}
    if "plan_year_reset" in codes:
        notes.append(
            t.gettext(
                "Your plan year starts again during this care: your deductible and yearly limit start again "
                "from $0."
            )
        )
    if "beyond_plan_effective_end" in codes:
        notes.append(
            t.gettext("Part of this care falls after your plan's current term; we assumed it stays the same.")
        )
    if any(code.endswith("_hours_below_minimum") for code in codes):
        notes.append(
            t.gettext(
                "This schedule has fewer hours a week than Medicare asks for the program; ask us about it."
            )
        )
    if scenario.if_reviews_denied is not None:
        levels = [t.gettext(LEVEL_TITLES[need.level]) for need in scenario.authorizations]
        notes.append(
            t.gettext(
                "If your plan stops approving {levels} after the first approval, you could pay "
                "up to {amount}."
            ).format(levels=_and(t, levels), amount=format_usd(scenario.if_reviews_denied.member_cost_cents))
        )
    return notes


def _up_front(t: Gettext, result: Estimate) -> list[str]:
    facts = []
    needs = sorted(
        {need.level for s in result.scenarios for need in s.authorizations},
        key=["op", "iop", "php"].index,
    )
    if needs:
        facts.append(
            t.gettext(
                "Your plan must approve {levels} before it starts (prior authorization). We ask "
                "your plan for "
                "you, and again every few weeks while the program goes on."
            ).format(levels=_and(t, [t.gettext(LEVEL_TITLES[level]) for level in needs]))
        )
    no_limit = any(m.accumulators.oop_remaining_cents is None for s in result.scenarios for m in s.months)
    if no_limit and result.plan_kind == "medicare":
        facts.append(
            t.gettext(
                "Original Medicare has no yearly limit on what you pay (no out-of-pocket "
                "maximum): your share "
                "keeps adding up for as long as care goes on. A supplement plan (Medigap) may pay some of it."
            )
        )
    elif no_limit:
        facts.append(
            t.gettext(
                "Your plan has no yearly limit on what you pay (no out-of-pocket maximum): your share keeps "
                "adding up for as long as care goes on."
            )
        )
    if any(s.totals.balance_bill_cents for s in result.scenarios):
        facts.append(
            t.gettext(
                "Out of network, the program can also bill you the difference between its price "
                "and what your "
                "plan allows; that is included here."
            )
        )
    return facts


def _assumptions(t: Gettext, result: Estimate, start: str, deductible_met: int, oop_met: int) -> list[str]:
    lines = [
        t.gettext("You start on {date} and come every week as planned; holidays are not counted.").format(
            date=start
        ),
        t.gettext(
            "You have already paid {deductible} toward your deductible and {oop} toward your yearly limit "
            "this plan year."
        ).format(deductible=amount(deductible_met), oop=amount(oop_met)),
        t.gettext("The first assessment, medication visits, lab tests and travel are not included."),
    ]
    if any(s.authorizations for s in result.scenarios):
        lines.append(t.gettext("Your plan approves the program days it must approve in advance."))
    return lines


def plain_estimate(
    result: Estimate, language: str, t: Gettext, *, deductible_met_cents: int = 0, oop_met_cents: int = 0
) -> PlainEstimate:
    """The whole estimate in the visitor's words, in `language` (t: its gettext catalog)."""
    start = format_date(result.start_date, "long", locale=language)
    keys = sorted({m.month for s in result.scenarios for m in s.months})
    scenarios = [
        PlainScenario(
            name=s.name,
            label=scenario_label(t, s),
            recommended=s.recommended,
            total_cents=s.totals.member_cost_cents,
            summary=_summary(t, language, s, result.horizon_weeks),
            steps=[
                t.gettext("{level}: {weeks}, {units}").format(
                    level=t.gettext(LEVEL_DESCRIPTIONS[part.level][0]),
                    weeks=_weeks(t, part.weeks),
                    units=_units(t, part.level, part.units),
                )
                for part in s.levels
            ],
            notes=_scenario_notes(t, language, s),
        )
        for s in result.scenarios
    ]
    return PlainEstimate(
        language=language,
        scenarios=scenarios,
        up_front=_up_front(t, result),
        assumptions=_assumptions(t, result, start, deductible_met_cents, oop_met_cents),
        start_date=start,
        month_labels={key: _month(key, language, "yMMM") for key in keys},
    )
