"""Presentation helpers for the pages: month rows side by side and the inline SVG chart.

Pixel geometry is integer arithmetic on cents; money itself is only ever formatted here.
"""

from __future__ import annotations

import datetime as dt

from markupsafe import Markup, escape
from msgspec import Struct

from coverage.estimate import Estimate, MonthSummary
from coverage.money import format_usd

SCENARIO_COLORS = ("#2b6cb0", "#c05621", "#6b46c1", "#2f855a")
_WIDTH, _PLOT_HEIGHT, _LEFT, _TOP, _BOTTOM = 760, 220, 78, 40, 44


class MonthRow(Struct):
    month: str
    label: str  # "Mar 2026"
    cells: list[MonthSummary | None]  # one per scenario, None: the scenario has ended


def month_label(key: str, style: str = "%b %Y") -> str:
    return dt.date(int(key[:4]), int(key[5:]), 1).strftime(style)


def month_rows(result: Estimate) -> list[MonthRow]:
    """Every month any scenario touches, with each scenario's summary for it."""
    by_scenario = [{month.month: month for month in scenario.months} for scenario in result.scenarios]
    keys = sorted({key for months in by_scenario for key in months})
    return [MonthRow(key, month_label(key), [months.get(key) for months in by_scenario]) for key in keys]


def _axis_top(cents: int) -> int:
    """A round axis maximum at or above `cents`: 1, 2 or 5 times a power of ten dollars."""
    step = 100  # $1
    while True:
        for factor in (1, 2, 5, 10):
            candidate = step * factor
            if candidate >= cents:
                return candidate
        step *= 10


def monthly_cost_chart(result: Estimate) -> Markup:
    """Grouped bars: client cost per month, one colour per scenario, with a legend and titles."""
    rows = month_rows(result)
    names = [scenario.label for scenario in result.scenarios]
    top = _axis_top(max((cell.member_cost_cents for row in rows for cell in row.cells if cell), default=0))
    height = _TOP + _PLOT_HEIGHT + _BOTTOM
    group = (_WIDTH - _LEFT - 10) // max(1, len(rows))
    bar = max(4, (group - 12) // max(1, len(names)))
    parts = [
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {height}" role="img" '
        f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Your cost per month in each scenario</title>',
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
            bar_height = _PLOT_HEIGHT * cost // top if top else 0
            x, y = x0 + position * bar, _TOP + _PLOT_HEIGHT - bar_height
            tip = escape(f"{names[position]}, {month_label(row.month, '%B %Y')}: {format_usd(cost)}")
            parts.append(
                f'<rect x="{x}" y="{y}" width="{bar - 1}" height="{bar_height}" '
                f'fill="{SCENARIO_COLORS[position % len(SCENARIO_COLORS)]}"><title>{tip}</title></rect>'
            )
        parts.append(
            f'<text x="{x0 + group // 2 - 6}" y="{_TOP + _PLOT_HEIGHT + 18}" class="axis" '
            f'text-anchor="middle">{escape(row.label)}</text>'
        )
    legend_x = _LEFT
    for position, name in enumerate(names):
        color = SCENARIO_COLORS[position % len(SCENARIO_COLORS)]
        parts.append(f'<rect x="{legend_x}" y="12" width="14" height="14" fill="{color}"/>')
        parts.append(f'<text x="{legend_x + 20}" y="24" class="legend">{escape(name)}</text>')
        legend_x += 34 + 7 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))
