"""Scheduling: a phase of n weeks from S covers [S, S+7n) and holds exactly k x n units."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coverage.errors import InputError
from coverage.schedule import expand, format_pathway, parse_pathway, standard_pathways


def test_weekdays_follow_the_spec() -> None:
    thursday = dt.date(2026, 3, 5)
    op2 = expand(parse_pathway("op:1x2"), thursday)
    assert [u.date for u in op2] == [thursday, dt.date(2026, 3, 8)]  # Thu and 3 days later (Sun)
    iop = expand(parse_pathway("iop:1"), thursday)
    # [Thu 03-05, Thu 03-12): Mon/Wed/Fri inside are Fri 03-06, Mon 03-09, Wed 03-11
    assert [u.date for u in iop] == [dt.date(2026, 3, 6), dt.date(2026, 3, 9), dt.date(2026, 3, 11)]


def test_standard_comparison_over_26_weeks() -> None:
    pathways = standard_pathways(26)
    assert {name: format_pathway(p) for name, p in pathways.items()} == {
        "weekly": "op:26",
        "iop": "iop:8,op:18",
        "php": "php:3,iop:6,op:17",
    }
    start = dt.date(2026, 3, 2)
    assert [len(expand(p, start)) for p in pathways.values()] == [26, 8 * 3 + 18, 15 + 18 + 17]


def test_short_horizon_cuts_the_later_phases() -> None:
    assert format_pathway(standard_pathways(5)["php"]) == "php:3,iop:2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("iop", "must look like"),
        ("rtc:2", "unknown level 'rtc'"),
        ("iop:0", "weeks must be 1-156"),
        ("iop:2x9", "units per week must be 1-7"),
        ("iop:2@13h", "at most 12"),
        ("op:100,op:100", "at most 156"),
    ],
)
def test_bad_pathways_name_the_phase_and_rule(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_pathway(text)


@given(
    st.lists(
        st.tuples(st.sampled_from(["op", "iop", "php"]), st.integers(1, 8), st.integers(1, 7)),
        min_size=1,
        max_size=4,
    ),
    st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)),
)
def test_every_phase_holds_exactly_k_times_n_units(
    phases: list[tuple[str, int, int]], start: dt.date
) -> None:
    pathway = parse_pathway(",".join(f"{level}:{weeks}x{k}" for level, weeks, k in phases))
    units = expand(pathway, start)
    assert len(units) == sum(weeks * k for _, weeks, k in phases)
    assert [u.date for u in units] == sorted(u.date for u in units)
    phase_start = start
    for index, phase in enumerate(pathway):
        inside = [u.date for u in units if u.phase_index == index]
        phase_end = phase_start + dt.timedelta(weeks=phase.weeks)
        assert all(phase_start <= day < phase_end for day in inside)
        phase_start = phase_end
    assert parse_pathway(format_pathway(pathway)) == pathway
