"""Presentation helpers for the pages: month rows side by side, the inline SVG chart, and the
Admissions screening questions and result.

Pixel geometry is integer arithmetic on cents; money itself is only ever formatted here.
"""

from __future__ import annotations

from typing import get_type_hints

import msgspec
from markupsafe import Markup, escape
from msgspec import Struct

from coverage.estimate import Estimate, EstimateRequest
from coverage.money import format_usd
from coverage.plain_language import month_name
from coverage.pricing.report import MonthSummary
from coverage.screening.answers import SCREENING_ALLOWED, SCREENING_QUESTIONS, ScreeningAnswers
from coverage.screening.rubric import (
    ASAM_LEVELS,
    BASIS_NAMES,
    LevelRecommendation,
    Recommendation,
    recommendation_label,
)
from coverage.validation import literal_choices

SCENARIO_COLORS = ("#2b6cb0", "#c05621", "#6b46c1", "#2f855a")
_WIDTH, _PLOT_HEIGHT, _LEFT, _TOP, _BOTTOM = 760, 220, 78, 40, 44


class MonthRow(Struct):
    month: str
    label: str  # "Mar 2026"
    cells: list[MonthSummary | None]  # one per scenario, None: the scenario has ended


def month_rows(result: Estimate) -> list[MonthRow]:
    """Every month any scenario touches, with each scenario's summary for it."""
    by_scenario = [{month.month: month for month in scenario.months} for scenario in result.scenarios]
    keys = sorted({key for months in by_scenario for key in months})
    return [
        MonthRow(key, month_name(key, "%b %Y"), [months.get(key) for months in by_scenario]) for key in keys
    ]


def _axis_top(cents: int) -> int:
    """A round axis maximum at or above `cents`: 1, 2 or 5 times a power of ten dollars."""
    step = 100  # $1
    while True:
        for factor in (1, 2, 5, 10):
            candidate = step * factor
            if candidate >= cents:
                return candidate
        step *= 10


def monthly_cost_chart(
    result: Estimate,
    *,
    names: list[str] | None = None,
    month_labels: dict[str, str] | None = None,
    title: str = "Your cost per month in each scenario",
    description: str = "",
) -> Markup:
    """Grouped bars: client cost per month, one colour per scenario, with a legend and titles.

    `names` and `month_labels` say the scenarios and months in the page's language; `description`
    (the same numbers in sentences) is the chart's text alternative with its title.
    """
    rows = month_rows(result)
    names = names or [scenario.label for scenario in result.scenarios]
    month_labels = month_labels or {row.month: row.label for row in rows}
    top = _axis_top(max((cell.member_cost_cents for row in rows for cell in row.cells if cell), default=0))
    height = _TOP + _PLOT_HEIGHT + _BOTTOM
    group = (_WIDTH - _LEFT - 10) // max(1, len(rows))
    bar = max(4, (group - 12) // max(1, len(names)))
    parts = [
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {height}" role="img" '
        f'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title><desc id="chart-desc">{escape(description)}</desc>',
    ]
    steps = 4 if str(top).startswith("2") else 5  # round ticks: $500 steps to $2,000, $1,000 to $5,000
    for tick in range(steps + 1):
        y = _TOP + _PLOT_HEIGHT - _PLOT_HEIGHT * tick // steps
        label = format_usd(top * tick // steps).removesuffix(".00")
        parts.append(f'<line x1="{_LEFT}" y1="{y}" x2="{_WIDTH - 6}" y2="{y}" class="grid"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4}" class="axis" text-anchor="end">{label}</text>')
    for index, row in enumerate(rows):
        x0 = _LEFT + index * group + 6
        for position, cell in enumerate(row.cells):
            cost = cell.member_cost_cents if cell else 0
            bar_height = _PLOT_HEIGHT * cost // top  # top is at least $1
            x, y = x0 + position * bar, _TOP + _PLOT_HEIGHT - bar_height
            tip = escape(f"{names[position]}, {month_labels[row.month]}: {format_usd(cost)}")
            parts.append(
                f'<rect x="{x}" y="{y}" width="{bar - 1}" height="{bar_height}" '
                f'fill="{SCENARIO_COLORS[position % len(SCENARIO_COLORS)]}"><title>{tip}</title></rect>'
            )
        parts.append(
            f'<text x="{x0 + group // 2 - 6}" y="{_TOP + _PLOT_HEIGHT + 18}" class="axis" '
            f'text-anchor="middle">{escape(month_labels[row.month])}</text>'
        )
    legend_x = _LEFT
    for position, name in enumerate(names):
        color = SCENARIO_COLORS[position % len(SCENARIO_COLORS)]
        parts.append(f'<rect x="{legend_x}" y="12" width="14" height="14" fill="{color}"/>')
        parts.append(f'<text x="{legend_x + 20}" y="24" class="legend">{escape(name)}</text>')
        legend_x += 34 + 8 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))


# --- Admissions screening ------------------------------------------------------------------


class ScreeningQuestion(Struct, frozen=True):
    """One screening form field: a select when `options` is set, else a text box."""

    name: str  # the ScreeningAnswers field, also the form field's name
    label: str
    hint: str
    options: list[tuple[str, str]]  # (value, text), a blank "not asked" first; [] for a text box


_SCREENING_LABELS = {  # short labels; the full question is the hint
    "symptom_severity": "Symptom severity",
    "crisis_frequency": "Crises between sessions",
    "safety_concerns": "Safety concerns",
    "coping_skills": "Coping skills",
    "support_system": "Support system",
    "co_occurring": "Co-occurring condition or substance use",
    "stepping_down_from": "Stepping down from",
    "months_without_progress": "Months of therapy without progress",
    "medical_stability": "Medical stability",
    "home_situation": "Home situation",
    "attendance": "Can attend a program",
    "locus_composite": "LOCUS composite (optional)",
    "asam_level": "ASAM level (optional)",
}


def _option_text(name: str, value: str) -> str:
    """An answer as staff read it: "plan or intent"; an ASAM level with its name."""
    return f"{value}: {ASAM_LEVELS[value].name}" if name == "asam_level" else value.replace("_", " ")


def _screening_questions() -> tuple[ScreeningQuestion, ...]:
    """The form's questions, in ScreeningAnswers order, with the answers its types allow."""
    hints = get_type_hints(ScreeningAnswers, include_extras=True)
    questions = []
    for field in msgspec.structs.fields(ScreeningAnswers):
        choices = literal_choices(hints[field.name])
        hint = SCREENING_QUESTIONS[field.name].replace("_", " ")  # answers as the options spell them
        options = [("", "—")] + [(value, _option_text(field.name, value)) for value in choices]
        if not choices:
            hint, options = f"{hint}; {SCREENING_ALLOWED[field.name]}", []
        questions.append(ScreeningQuestion(field.name, _SCREENING_LABELS[field.name], hint, options))
    return tuple(questions)


SCREENING_FORM = _screening_questions()


class ScreeningView(Struct, frozen=True):
    """The screening result as the Admissions page shows it."""

    result: LevelRecommendation
    basis: str  # in words
    alternatives: list[tuple[str, str, bool]]  # (level label, why, indicated)
    staff_choice: str | None  # the level staff chose instead, when it differs from the screening's


def screening_view(result: LevelRecommendation, request: EstimateRequest) -> ScreeningView:
    """`request` carries the level the comparison marks: the screening's unless staff chose another."""
    chosen: Recommendation | None = request.recommended_level
    return ScreeningView(
        result=result,
        basis=f"the {BASIS_NAMES[result.basis]}",
        alternatives=[
            (recommendation_label(other.level), other.why, other.indicated)
            for other in result.alternatives_considered
        ],
        staff_choice=recommendation_label(chosen) if chosen and chosen != result.level else None,
    )
