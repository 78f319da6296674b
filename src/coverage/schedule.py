"""Care pathways expanded to dated service units (SPEC section 2).

A phase of n weeks starting on S covers [S, S + 7n) and places its units on fixed weekdays,
so it always holds exactly units_per_week x n units; the next phase starts on S + 7n.
"""

from __future__ import annotations

import datetime as dt
import re
from bisect import bisect_left
from fractions import Fraction
from functools import lru_cache
from typing import Annotated, NamedTuple

from msgspec import Meta, Struct

from coverage.errors import InputError
from coverage.levels import LEVEL_ORDER, LEVELS, Level

MAX_HORIZON_WEEKS = 156
DEFAULT_HORIZON_WEEKS = 26
# Weekdays (Mon=0) for program schedules with k units a week; 1 and 2 follow the start day.
_FIXED_WEEKDAYS: dict[int, tuple[int, ...]] = {
    3: (0, 2, 4),
    4: (0, 1, 2, 3),
    5: (0, 1, 2, 3, 4),
    6: (0, 1, 2, 3, 4, 5),
    7: (0, 1, 2, 3, 4, 5, 6),
}


class Phase(Struct, frozen=True):
    level: Level
    weeks: Annotated[int, Meta(ge=1, le=MAX_HORIZON_WEEKS)]
    units_per_week: Annotated[int, Meta(ge=1, le=7)]
    minutes_per_unit: Annotated[int, Meta(ge=1, le=720)]

    @property
    def hours_per_week(self) -> Fraction:
        return Fraction(self.units_per_week * self.minutes_per_unit, 60)

    def describe(self) -> str:
        return _describe(self.level, self.weeks, self.units_per_week, self.minutes_per_unit)


@lru_cache(maxsize=4096)  # every estimate describes its phases twice; few phases recur often
def _describe(level_name: Level, weeks: int, units_per_week: int, minutes_per_unit: int) -> str:
    level = LEVELS[level_name]
    length = format_duration(minutes_per_unit).replace("h", " h").replace("m", " min")
    return (
        f"{level.label}: {weeks} week{'s' * (weeks != 1)} x "
        f"{units_per_week} {level.unit_name}{'s' * (units_per_week != 1)}/week x {length}"
    )


class ScheduledUnit(NamedTuple):
    date: dt.date
    level: Level
    phase_index: int
    episode_index: int  # consecutive phases of the same level form one episode (one admission)


def _bad_pathway(message: str) -> InputError:
    """A pathway text or phase that cannot be scheduled; the message says which part and why."""
    return InputError.at("pathway", message)


def default_phase(level: Level, weeks: int) -> Phase:
    defaults = LEVELS[level]
    return Phase(level, weeks, defaults.default_units_per_week, defaults.default_minutes_per_unit)


# ASCII digits only, a few of them: "op:٣" or a 5,000-digit week count is a malformed phase,
# never an int() the parser has to survive. Every bound below fits in these widths.
_PHASE_TEXT = re.compile(
    r"^(?P<level>[a-z]+):(?P<weeks>[0-9]{1,4})(?:x(?P<units>[0-9]{1,2}))?"
    r"(?:@(?:(?P<minutes>[0-9]{1,4})m|(?P<hours>[0-9]{1,2}(?:\.[0-9]{1,4})?)h?))?$"
)
MAX_PATHWAY_CHARS = 2_000  # 156 one-week phases in their longest canonical spelling fit


def format_duration(minutes: int) -> str:
    """Minutes as pathway text: 180 -> "3h", 90 -> "1.5h", 50 -> "50m" (always exact)."""
    hours = Fraction(minutes, 60)
    if hours.denominator == 1:
        return f"{hours.numerator}h"
    if minutes % 6 == 0:  # a tenth of an hour: one decimal place is exact
        return f"{minutes // 60}.{minutes % 60 // 6}h"
    return f"{minutes}m"


def parse_pathway(text: str) -> list[Phase]:
    """Parse "php:3,iop:6,op:17"; a phase may override intensity: "iop:8x4@3h" (4 days x 3 h).

    Units per week follow `x`; the length of one unit follows `@` in hours ("@3", "@2.5h")
    or minutes ("@50m"). Omitted parts take the level's defaults.
    """
    if len(text) > MAX_PATHWAY_CHARS:
        raise _bad_pathway(f"pathway is {len(text):,} characters long; at most {MAX_PATHWAY_CHARS:,}")
    phases: list[Phase] = []
    parts = [part.strip() for part in text.split(",")]
    for position, part in enumerate(parts, start=1):
        match = _PHASE_TEXT.match(part)
        if not match:
            raise _bad_pathway(
                f"phase {position} {part!r} must look like LEVEL:WEEKS[xUNITS_PER_WEEK][@HOURSh|@MINUTESm], "
                f"e.g. 'iop:8' or 'iop:8x4@3h'"
            )
        level = match["level"]
        if level not in LEVELS:
            raise _bad_pathway(
                f"phase {position} {part!r}: unknown level {level!r} (use one of {', '.join(LEVEL_ORDER)})"
            )
        defaults = LEVELS[level]  # type: ignore[index]
        weeks = int(match["weeks"])
        units = int(match["units"]) if match["units"] else defaults.default_units_per_week
        minutes = defaults.default_minutes_per_unit
        if match["minutes"]:
            minutes = int(match["minutes"])
        elif match["hours"]:
            minutes_exact = Fraction(match["hours"]) * 60
            if minutes_exact.denominator != 1:
                raise _bad_pathway(f"phase {position} {part!r}: hours must be whole minutes")
            minutes = int(minutes_exact)
        if not 1 <= weeks <= MAX_HORIZON_WEEKS:
            raise _bad_pathway(f"phase {position} {part!r}: weeks must be 1-{MAX_HORIZON_WEEKS}")
        if not 1 <= units <= 7:
            raise _bad_pathway(f"phase {position} {part!r}: units per week must be 1-7")
        if not 1 <= minutes <= 720:
            raise _bad_pathway(f"phase {position} {part!r}: hours per unit must be above 0 and at most 12")
        phases.append(Phase(level, weeks, units, minutes))  # type: ignore[arg-type]
    total_weeks = sum(phase.weeks for phase in phases)
    if total_weeks > MAX_HORIZON_WEEKS:
        raise _bad_pathway(f"pathway is {total_weeks} weeks long; at most {MAX_HORIZON_WEEKS}")
    return phases


def format_pathway(phases: list[Phase]) -> str:
    """The canonical text of a pathway, readable back by parse_pathway."""
    return ",".join(
        f"{phase.level}:{phase.weeks}x{phase.units_per_week}@{format_duration(phase.minutes_per_unit)}"
        if (phase.units_per_week, phase.minutes_per_unit) != _defaults_of(phase.level)
        else f"{phase.level}:{phase.weeks}"
        for phase in phases
    )


def _defaults_of(level: Level) -> tuple[int, int]:
    return LEVELS[level].default_units_per_week, LEVELS[level].default_minutes_per_unit


def scenario_pathways(horizon_weeks: int, pathway: str | None) -> dict[str, list[Phase]]:
    """The scenarios to price: one custom pathway when given, else the standard comparison."""
    return standard_pathways(horizon_weeks) if pathway is None else {"custom": parse_pathway(pathway)}


def standard_pathways(horizon_weeks: int = DEFAULT_HORIZON_WEEKS) -> dict[str, list[Phase]]:
    """The standard comparison over one horizon: weekly; iop 8 + op; php 3 + iop 6 + op."""
    if not 1 <= horizon_weeks <= MAX_HORIZON_WEEKS:
        raise InputError.at("horizon_weeks", f"must be 1-{MAX_HORIZON_WEEKS}, got {horizon_weeks}")
    return {
        "weekly": _fit([("op", horizon_weeks)], horizon_weeks),
        "iop": _fit([("iop", 8), ("op", horizon_weeks)], horizon_weeks),
        "php": _fit([("php", 3), ("iop", 6), ("op", horizon_weeks)], horizon_weeks),
    }


def _fit(plan: list[tuple[Level, int]], horizon_weeks: int) -> list[Phase]:
    """Lay phases end to end, cutting the last ones so the whole fits the horizon exactly."""
    phases: list[Phase] = []
    weeks_left = horizon_weeks
    for level, weeks in plan:
        if weeks_left == 0:
            break
        taken = min(weeks, weeks_left)
        phases.append(default_phase(level, taken))
        weeks_left -= taken
    return phases


def _weekdays(units_per_week: int, start: dt.date) -> tuple[int, ...]:
    if units_per_week == 1:
        return (start.weekday(),)
    if units_per_week == 2:
        return (start.weekday(), (start.weekday() + 3) % 7)
    return _FIXED_WEEKDAYS[units_per_week]


class PhaseDays:
    """The dates of a phase's units as arithmetic, so a run of units needs no list of dates.

    Unit i (from 0) falls in week i // k of the phase, on the (i % k)-th unit weekday of that week.
    """

    __slots__ = ("offsets", "per_week", "start")

    def __init__(self, phase: Phase, start: dt.date) -> None:
        self.start = start.toordinal()
        self.per_week = phase.units_per_week
        self.offsets = _offsets(phase.units_per_week, start.weekday())

    def date(self, index: int) -> dt.date:
        week, position = divmod(index, self.per_week)
        return dt.date.fromordinal(self.start + 7 * week + self.offsets[position])

    def count_before(self, day: dt.date) -> int:
        """How many units fall before `day` (the phase's first units, any number of weeks on)."""
        days = day.toordinal() - self.start
        if days <= 0:
            return 0
        weeks, rest = divmod(days, 7)
        return weeks * self.per_week + bisect_left(self.offsets, rest)


@lru_cache(maxsize=64)
def _offsets(units_per_week: int, start_weekday: int) -> tuple[int, ...]:
    """Days from a phase's start to its units in a week, in order (49 combinations at most)."""
    monday = dt.date(2024, 1, 1)
    weekdays = _weekdays(units_per_week, monday + dt.timedelta(days=start_weekday))
    return tuple(sorted((weekday - start_weekday) % 7 for weekday in weekdays))


def expand(phases: list[Phase], start: dt.date) -> list[ScheduledUnit]:
    """Dated units of a pathway, in date order."""
    units: list[ScheduledUnit] = []
    phase_start = start
    episode_index = -1
    previous_level: Level | None = None
    for phase_index, phase in enumerate(phases):
        if phase.level != previous_level:
            episode_index += 1
            previous_level = phase.level
        days = PhaseDays(phase, phase_start)
        units.extend(
            ScheduledUnit(days.date(index), phase.level, phase_index, episode_index)
            for index in range(phase.units_per_week * phase.weeks)
        )
        phase_start += dt.timedelta(weeks=phase.weeks)
    return units


def pathway_end(phases: list[Phase], start: dt.date) -> dt.date:
    """Last day covered by the pathway (inclusive)."""
    return start + dt.timedelta(weeks=sum(phase.weeks for phase in phases), days=-1)
