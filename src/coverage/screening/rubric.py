"""The screening rubric: reviewable rules that turn screening answers into a level of care.

Reviewed by clinicians as data: SCREENING_RULES below is the whole rubric; docs/levels.md
explains it in plain language. A clinician's LOCUS or ASAM score wins over the rubric, and the
safety rules win over everything.
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from coverage.levels import LEVELS
from coverage.screening.answers import (
    CRISIS_RESOURCES,
    SCREENING_DISCLAIMER,
    AsamLevel,
    Attendance,
    ScreeningAnswers,
)

Recommendation = Literal["op", "iop", "php", "refer_higher"]
RECOMMENDATION_ORDER: tuple[Recommendation, ...] = ("op", "iop", "php", "refer_higher")
REFER_HIGHER_LABEL = "Refer to a higher level of care (residential or inpatient)"
Basis = Literal["rubric", "locus", "asam"]
BASIS_NAMES: dict[Basis, str] = {  # what decided a recommendation, for "basis: ..." and "decided by the ..."
    "rubric": "screening rubric",
    "locus": "clinician's LOCUS composite score",
    "asam": "clinician's ASAM level",
}


RuleEffect = Literal["refer_higher", "php", "iop", "factor"]
FACTORS_FOR_IOP = 2  # complicating factors that, together, call for IOP
FACTORS_TO_STEP_UP_TO_PHP = 3  # complicating factors that, with an IOP-level signal, call for PHP


class Rule(Struct, frozen=True):
    """One reviewable line of the rubric: when `signal` is one of `answers` (or, for a count, at
    least `at_least`), it `indicates` a level on its own, or counts as one complicating factor."""

    signal: str  # a ScreeningAnswers field
    indicates: RuleEffect
    reason: str  # plain language, shown to staff when the rule fires
    answers: tuple[str, ...] = ()
    at_least: int | None = None

    def fires(self, screening: ScreeningAnswers) -> bool:
        value = getattr(screening, self.signal)
        return value >= self.at_least if self.at_least is not None else value in self.answers


SCREENING_RULES: tuple[Rule, ...] = (
    # Safety: any of these means a setting with 24-hour care, whatever else is answered, and it beats
    # a clinician's LOCUS or ASAM level too (a day program sends the client home every night).
    # Signal: safety concerns. Imminent risk of suicide or of harming others.
    Rule(
        "safety_concerns",
        "refer_higher",
        "thoughts of suicide or harming others with a plan or intent (imminent risk)",
        answers=("plan_or_intent",),
    ),
    # Signal: symptom severity / functional impairment. Needs 24-hour supervision.
    Rule(
        "symptom_severity",
        "refer_higher",
        "cannot meet basic needs (eating, washing, staying safe) without help: needs 24-hour supervision",
        answers=("cannot_care_for_self",),
    ),
    # Signal: medical stability (includes withdrawal that needs medical management).
    Rule(
        "medical_stability",
        "refer_higher",
        "medically unstable: needs medical care around the clock",
        answers=("unstable",),
    ),
    # Signal: safe and stable home. IOP and PHP both send the client home at night.
    Rule("home_situation", "refer_higher", "no safe place to sleep", answers=("no_safe_place",)),
    #
    # PHP-level signals: each on its own calls for PHP (about 5 days a week).
    # Signal: stepping down from hospital/residential. PHP is the usual next step down.
    Rule(
        "stepping_down_from",
        "php",
        "stepping down from hospital or residential care",
        answers=("hospital", "residential"),
    ),
    # Signal: crisis frequency between sessions.
    Rule("crisis_frequency", "php", "crises about daily between sessions", answers=("daily",)),
    # Signal: safety concerns. Active ideation without plan or intent needs daily contact and safety planning.
    Rule(
        "safety_concerns",
        "php",
        "active thoughts of suicide or harming others, without a plan or intent",
        answers=("active_ideation",),
    ),
    # Signal: symptom severity / functional impairment.
    Rule(
        "symptom_severity",
        "php",
        "severe symptoms: cannot keep up with work, school or home most days",
        answers=("severe",),
    ),
    #
    # IOP-level signals: each on its own calls for IOP (about 3 days a week).
    # Signal: stepping down from PHP. IOP is the usual next step down.
    Rule(
        "stepping_down_from", "iop", "stepping down from a partial hospitalization program", answers=("php",)
    ),
    # Signal: crisis frequency between sessions. Weekly (not monthly) is the line.
    Rule("crisis_frequency", "iop", "crises about weekly between sessions", answers=("weekly",)),
    # Signal: months of weekly therapy without progress. Three months is the line.
    Rule("months_without_progress", "iop", "3 or more months of weekly therapy without progress", at_least=3),
    # Signal: safety concerns. Passive ideation calls for more contact than one session a week.
    Rule(
        "safety_concerns",
        "iop",
        "passive thoughts of death, without thoughts of acting",
        answers=("passive_ideation",),
    ),
    #
    # Complicating factors: each counts one; FACTORS_FOR_IOP of them call for IOP, and
    # FACTORS_TO_STEP_UP_TO_PHP of them together with an IOP-level signal call for PHP.
    # Signal: symptom severity / functional impairment.
    Rule(
        "symptom_severity",
        "factor",
        "moderate symptoms that make work, school or home harder",
        answers=("moderate",),
    ),
    # Signal: crisis frequency between sessions.
    Rule("crisis_frequency", "factor", "crises about monthly between sessions", answers=("monthly",)),
    # Signal: coping-skill foundation.
    Rule(
        "coping_skills", "factor", "few coping skills to manage symptoms between sessions", answers=("few",)
    ),
    # Signal: support system.
    Rule("support_system", "factor", "no one to lean on between sessions", answers=("none",)),
    # Signal: co-occurring conditions or substance use. Active ones need integrated, more frequent care.
    Rule("co_occurring", "factor", "an active co-occurring condition or substance use", answers=("active",)),
    # Signal: safe and stable home. Unstable but safe to sleep in.
    Rule("home_situation", "factor", "an unstable or stressful home", answers=("unstable",)),
)


class ClinicianLevel(Struct, frozen=True):
    """A level from a clinician's instrument and the level of ours it maps to."""

    name: str
    maps_to: Recommendation


# LOCUS (Level of Care Utilization System, American Association of Community Psychiatrists, adult
# version 2010 and LOCUS 20): the composite score's band on the Level of Care Determination Grid.
# The grid can also place someone higher on a single dimension's rating (e.g. Risk of Harm 4 or 5);
# only the composite is taken here, and the screening's safety rules still apply.
LOCUS_BANDS: tuple[tuple[int, int, ClinicianLevel], ...] = (
    (7, 9, ClinicianLevel("LOCUS Level 0, Basic Services", "op")),
    (10, 13, ClinicianLevel("LOCUS Level 1, Recovery Maintenance and Health Management", "op")),
    (14, 16, ClinicianLevel("LOCUS Level 2, Low Intensity Community Based Services", "op")),
    (17, 19, ClinicianLevel("LOCUS Level 3, High Intensity Community Based Services", "iop")),
    (20, 22, ClinicianLevel("LOCUS Level 4, Medically Monitored Non-Residential Services", "php")),
    (23, 27, ClinicianLevel("LOCUS Level 5, Medically Monitored Residential Services", "refer_higher")),
    (28, 35, ClinicianLevel("LOCUS Level 6, Medically Managed Residential Services", "refer_higher")),
)

# ASAM Criteria levels of care (American Society of Addiction Medicine; 3rd edition 2013, plus the
# 4th edition's 1.5, 1.7 and 2.7). Withdrawal-management levels are not taken: medical stability
# covers withdrawal risk.
ASAM_LEVELS: dict[AsamLevel, ClinicianLevel] = {
    "0.5": ClinicianLevel("Early Intervention", "op"),
    "1": ClinicianLevel("Outpatient Services", "op"),
    "1.5": ClinicianLevel("Outpatient Therapy", "op"),
    "1.7": ClinicianLevel("Medically Managed Outpatient", "op"),
    "2.1": ClinicianLevel("Intensive Outpatient (9 or more hours a week)", "iop"),
    "2.5": ClinicianLevel(
        "Partial Hospitalization / High-Intensity Outpatient (20 or more hours a week)", "php"
    ),
    "2.7": ClinicianLevel("Medically Managed Intensive Outpatient", "php"),
    "3.1": ClinicianLevel("Clinically Managed Low-Intensity Residential", "refer_higher"),
    "3.3": ClinicianLevel(
        "Clinically Managed Population-Specific High-Intensity Residential", "refer_higher"
    ),
    "3.5": ClinicianLevel("Clinically Managed High-Intensity Residential", "refer_higher"),
    "3.7": ClinicianLevel("Medically Monitored/Managed Intensive Inpatient", "refer_higher"),
    "4": ClinicianLevel("Medically Managed Intensive Inpatient", "refer_higher"),
}

# The most intensive day program each attendance answer can keep up with. Attendance never lowers
# the recommendation (under-treating is the worse error); it is reported as a barrier instead.
ATTENDANCE_LIMITS: dict[Attendance, tuple[Recommendation, str]] = {
    "5_days": ("php", "5 days a week"),
    "3_to_4_days": ("iop", "3 to 4 days a week"),
    "under_3_days": ("op", "fewer than 3 days a week"),
}


class Alternative(Struct, frozen=True):
    level: Recommendation
    indicated: bool
    why: str


class LevelRecommendation(Struct, frozen=True):
    """The recommended level, the rules that drove it and the levels it was weighed against."""

    level: Recommendation
    label: str
    basis: Basis
    reasons: list[str]
    alternatives_considered: list[Alternative]
    crisis_resources: str | None
    disclaimer: str



def recommendation_label(level: Recommendation) -> str:
    return REFER_HIGHER_LABEL if level == "refer_higher" else LEVELS[level].label


class ClinicianScore(Struct, frozen=True):
    basis: Basis
    given: str  # as staff entered it, e.g. "LOCUS composite 18"
    mapped: ClinicianLevel


def _clinician_score(screening: ScreeningAnswers) -> ClinicianScore | None:
    if screening.asam_level is not None:
        return ClinicianScore("asam", f"ASAM level {screening.asam_level}", ASAM_LEVELS[screening.asam_level])
    if screening.locus_composite is not None:
        score = screening.locus_composite
        band = next(level for low, high, level in LOCUS_BANDS if low <= score <= high)
        return ClinicianScore("locus", f"LOCUS composite {score}", band)
    return None


_RULE_TAGS: dict[RuleEffect, str] = {
    "refer_higher": "Safety override",
    "php": "Points to PHP",
    "iop": "Points to IOP",
    "factor": "Complicating factor",
}


def _described(rule: Rule, screening: ScreeningAnswers) -> str:
    return f"{_RULE_TAGS[rule.indicates]}: {rule.reason} ({rule.signal} = {getattr(screening, rule.signal)})"


def _rubric_decision(fired: list[Rule]) -> tuple[Recommendation, str]:
    """The rubric's level and the one-line decision rule that chose it."""
    count = {effect: sum(rule.indicates == effect for rule in fired) for effect in _RULE_TAGS}
    if count["refer_higher"]:
        return "refer_higher", (
            "A safety answer calls for more than a day program (24-hour care or a safe place to stay), "
            "whatever else was answered."
        )
    if count["php"]:
        return "php", "At least one signal calls for PHP on its own."
    if count["iop"] and count["factor"] >= FACTORS_TO_STEP_UP_TO_PHP:
        return "php", (
            f"An IOP-level signal together with {count['factor']} complicating factors "
            f"({FACTORS_TO_STEP_UP_TO_PHP} or more step IOP up to PHP)."
        )
    if count["iop"]:
        return "iop", "At least one signal calls for IOP on its own, and nothing calls for PHP."
    if count["factor"] >= FACTORS_FOR_IOP:
        return "iop", (
            f"{count['factor']} complicating factors together ({FACTORS_FOR_IOP} or more call for IOP)."
        )
    return "op", (
        f"No signal calls for IOP or PHP, and fewer than {FACTORS_FOR_IOP} complicating factors: "
        "weekly therapy."
    )


def _criteria_for(level: Recommendation) -> str:
    """What would have called for a level, read off the rule table."""
    criteria = [rule.reason for rule in SCREENING_RULES if rule.indicates == level]
    if level == "iop":
        criteria.append(f"{FACTORS_FOR_IOP} or more complicating factors")
    if level == "php":
        criteria.append(f"an IOP-level signal with {FACTORS_TO_STEP_UP_TO_PHP} or more complicating factors")
    return "; ".join(criteria)


def _alternatives(
    level: Recommendation,
    rubric_level: Recommendation,
    decided_by: str,
    clinician: ClinicianScore | None,
    barrier: tuple[Recommendation, str] | None,
) -> list[Alternative]:
    """Each level not recommended, with why; `barrier` is the level the client can attend, if lower."""
    rank = RECOMMENDATION_ORDER.index
    alternatives: list[Alternative] = []
    for other in RECOMMENDATION_ORDER:
        if other == level:
            continue
        if clinician and other == rubric_level:
            why = f"The screening rubric alone indicates it, but the clinician's {clinician.given} wins."
            alternatives.append(Alternative(other, True, why))
        elif clinician and other == clinician.mapped.maps_to:
            why = f"The clinician's {clinician.given} maps to it, but the safety override wins."
            alternatives.append(Alternative(other, False, why))
        elif rank(other) < rank(level):
            why = f"Less care than indicated. {decided_by}"
            if barrier and other == barrier[0]:
                why = f"The most the client says they can attend ({barrier[1]}). {why}"
            alternatives.append(Alternative(other, False, why))
        elif clinician:
            alternatives.append(
                Alternative(other, False, f"Not indicated by the clinician's {clinician.given}.")
            )
        else:
            alternatives.append(
                Alternative(other, False, f"Not indicated; it would need one of: {_criteria_for(other)}.")
            )
    return alternatives


def recommend_level(screening: ScreeningAnswers) -> LevelRecommendation:
    """Apply the safety override, then a clinician's score if given, else the rubric."""
    fired = [rule for rule in SCREENING_RULES if rule.fires(screening)]  # table order: strongest first
    rubric_level, rubric_rule = _rubric_decision(fired)
    clinician = _clinician_score(screening)
    fired_reasons = [_described(rule, screening) for rule in fired]
    if clinician is None or rubric_level == "refer_higher":
        level, basis = rubric_level, "rubric"
        reasons = [rubric_rule, *fired_reasons]
        decided_by = rubric_rule
        if clinician:
            reasons.append(
                f"The safety override wins over the clinician's {clinician.given} ({clinician.mapped.name}, "
                f"which maps to {recommendation_label(clinician.mapped.maps_to)})."
            )
    else:
        level, basis = clinician.mapped.maps_to, clinician.basis
        decided_by = (
            f"The clinician's {clinician.given} ({clinician.mapped.name}) "
            f"maps to {recommendation_label(level)}."
        )
        reasons = [
            decided_by,
            f"A clinician's score wins over the screening rubric (which alone says "
            f"{recommendation_label(rubric_level)}; its signals follow).",
            *fired_reasons,
        ]
    feasible, days = ATTENDANCE_LIMITS[screening.attendance]
    rank = RECOMMENDATION_ORDER.index
    barrier = (feasible, days) if level != "refer_higher" and rank(level) > rank(feasible) else None
    if barrier:
        reasons.append(
            f"Barrier: the client can attend {days}, but {recommendation_label(level)} meets about "
            f"{LEVELS[level].default_units_per_week} days a week. Not lowered for this: discuss schedule "
            "options with the program and the client."
        )
    needs_crisis_text = level == "refer_higher" or screening.safety_concerns != "none"
    return LevelRecommendation(
        level=level,
        label=recommendation_label(level),
        basis=basis,
        reasons=reasons,
        alternatives_considered=_alternatives(level, rubric_level, decided_by, clinician, barrier),
        crisis_resources=CRISIS_RESOURCES if needs_crisis_text else None,
        disclaimer=SCREENING_DISCLAIMER,
    )
