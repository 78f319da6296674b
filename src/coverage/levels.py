"""The small shared table: levels of care, categories and networks, and their one label each.

Levels (SPEC section 2) say what weekly therapy, IOP and PHP involve and their scheduling
defaults; every default can be overridden per request, and an estimate that uses one says so
in its assumptions. Every page, CLI line and note names a category, level or network with
the labels here, so the wording never drifts between them.
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

Level = Literal["op", "iop", "php"]
LEVEL_ORDER: tuple[Level, ...] = ("op", "iop", "php")
Category = Literal["mh", "sud"]
CATEGORIES: tuple[Category, ...] = ("mh", "sud")
Network = Literal["in", "out"]
NETWORKS: tuple[Network, ...] = ("in", "out")

CATEGORY_LABELS: dict[Category, str] = {"mh": "Mental health", "sud": "Substance use"}
NETWORK_LABELS: dict[Network, str] = {"in": "in network", "out": "out of network"}


class LevelOfCare(Struct, frozen=True):
    level: Level
    label: str
    unit_name: str
    benefit_suffix: str  # plan-file category key is f"{mh|sud}_{benefit_suffix}"
    default_units_per_week: int
    default_minutes_per_unit: int
    default_weeks: int | None  # None: open-ended
    typical_codes: str
    plain_description: str
    default_self_pay_cents: int  # charge when the plan has no benefit for the level

    @property
    def setting(self) -> str:
        """Where its benefit is billed, as payers' codes group it: "office", "IOP", "PHP"."""
        return "office" if self.benefit_suffix == "office" else self.benefit_suffix.upper()



LEVELS: dict[Level, LevelOfCare] = {
    "op": LevelOfCare(
        level="op",
        label="Weekly therapy",
        unit_name="session",
        benefit_suffix="office",
        default_units_per_week=1,
        default_minutes_per_unit=50,
        default_weeks=None,
        typical_codes="CPT 90834/90837 (intake 90791)",
        plain_description=(
            "One therapy session of about 50 minutes a week with a licensed clinician; "
            "open-ended, and the usual step-down after a program."
        ),
        default_self_pay_cents=150_00,
    ),
    "iop": LevelOfCare(
        level="iop",
        label="Intensive outpatient program (IOP)",
        unit_name="program day",
        benefit_suffix="iop",
        default_units_per_week=3,
        default_minutes_per_unit=180,
        default_weeks=8,
        typical_codes="HCPCS S9480 (MH) / H0015 (SUD); revenue codes 0905/0906",
        plain_description=(
            "About 3 hours a day, 3 days a week (9-19 hours a week), usually for 6 to 12 weeks; "
            "group and individual therapy while you live at home and keep most of your routine."
        ),
        default_self_pay_cents=500_00,
    ),
    "php": LevelOfCare(
        level="php",
        label="Partial hospitalization program (PHP)",
        unit_name="program day",
        benefit_suffix="php",
        default_units_per_week=5,
        default_minutes_per_unit=360,
        default_weeks=3,
        typical_codes="HCPCS S0201 / H0035; revenue codes 0912/0913",
        plain_description=(
            "About 6 hours a day, 5 days a week (20 or more hours a week), typically for 2 to 4 "
            "weeks: hospital-level structure during the day, home at night."
        ),
        default_self_pay_cents=900_00,
    ),
}


def category_key(category: str, level: Level) -> str:
    """The plan-file benefit category for a level: ("mh", "iop") -> "mh_iop"."""
    return f"{category}_{LEVELS[level].benefit_suffix}"
