"""Screening answers: the questions staff ask, the answers each allows, and their validation.

The rubric (`coverage.screening.rubric`) turns validated answers into a recommended level.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union, get_args, get_origin

import msgspec
from msgspec import Meta, Struct

from coverage.errors import InputError

SymptomSeverity = Literal["mild", "moderate", "severe", "cannot_care_for_self"]
CrisisFrequency = Literal["none", "monthly", "weekly", "daily"]
SafetyConcern = Literal["none", "passive_ideation", "active_ideation", "plan_or_intent"]
CopingSkills = Literal["solid", "some", "few"]
SupportSystem = Literal["strong", "some", "none"]
CoOccurring = Literal["none", "managed", "active"]
SteppingDownFrom = Literal["none", "php", "residential", "hospital"]
MedicalStability = Literal["stable", "unstable"]
HomeSituation = Literal["safe_stable", "unstable", "no_safe_place"]
Attendance = Literal["5_days", "3_to_4_days", "under_3_days"]
MonthsWithoutProgress = Annotated[int, Meta(ge=0, le=240)]
LocusComposite = Annotated[int, Meta(ge=7, le=35)]  # seven ratings of 1-5 (LOCUS dimension IV has two)
AsamLevel = Literal["0.5", "1", "1.5", "1.7", "2.1", "2.5", "2.7", "3.1", "3.3", "3.5", "3.7", "4"]

# The question staff ask for each answer, with the meaning of answers that are not self-evident.
SCREENING_QUESTIONS: dict[str, str] = {
    "symptom_severity": (
        "How much do symptoms get in the way of work, school, home and self-care? (severe: cannot keep "
        "up most days; cannot_care_for_self: cannot eat, wash or stay safe without help)"
    ),
    "crisis_frequency": "How often do crises (moments they cannot cope) happen between sessions?",
    "safety_concerns": (
        "Any thoughts of suicide or of harming others? (passive_ideation: wishes to be dead, no thought of "
        "acting; active_ideation: thoughts of acting, no plan or intent; plan_or_intent: a plan, intent or "
        "a recent attempt, i.e. imminent risk)"
    ),
    "coping_skills": "How well can they use coping skills to manage symptoms between sessions?",
    "support_system": "Do they have people to lean on day to day (family, friends, peers)?",
    "co_occurring": (
        "Another mental health condition, or substance use? (managed: present but stable; active: "
        "complicating recovery)"
    ),
    "stepping_down_from": "Are they stepping down from a more intensive program, and which?",
    "months_without_progress": (
        "How many months of weekly (or more) therapy without meaningful progress? (0: not in therapy, "
        "or it is helping)"
    ),
    "medical_stability": (
        "Are they medically stable? (unstable: risk of dangerous withdrawal, or needs round-the-clock "
        "medical care)"
    ),
    "home_situation": (
        "Is home safe and stable? (unstable: conflict or chaos, but safe to sleep; no_safe_place: nowhere "
        "safe to sleep)"
    ),
    "attendance": "How many days a week can they attend a program?",
    "locus_composite": "Optional: a clinician's LOCUS composite score",
    "asam_level": "Optional: a clinician's ASAM Criteria level of care",
}

SCREENING_DISCLAIMER = (
    "Screening aid for admissions staff, not a clinical determination: a licensed clinician decides "
    "the level of care after an assessment."
)
CRISIS_RESOURCES = (
    "If anyone is in immediate danger, call 911. 988 Suicide & Crisis Lifeline: call or text 988, or "
    "chat at 988lifeline.org, free and confidential, 24 hours a day (veterans: dial 988, then press 1)."
)


class ScreeningAnswers(Struct, forbid_unknown_fields=True, frozen=True):
    """A caller's answers to the admissions screening. Every signal is asked every time, so the
    safety questions are never skipped, even when a clinician's score is supplied."""

    symptom_severity: SymptomSeverity
    crisis_frequency: CrisisFrequency
    safety_concerns: SafetyConcern
    coping_skills: CopingSkills
    support_system: SupportSystem
    co_occurring: CoOccurring
    stepping_down_from: SteppingDownFrom
    months_without_progress: MonthsWithoutProgress
    medical_stability: MedicalStability
    home_situation: HomeSituation
    attendance: Attendance
    locus_composite: LocusComposite | None = None
    asam_level: AsamLevel | None = None

    def __post_init__(self) -> None:
        if self.locus_composite is not None and self.asam_level is not None:
            raise ValueError("asam_level: give one clinician score, locus_composite or asam_level, not both")



def _allowed_text(annotation: object) -> str:
    """What a screening field accepts, in words, for error messages and help text."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Union:  # an optional clinician score
        (inner,) = (arg for arg in args if arg is not type(None))
        return f"{_allowed_text(inner)}, or omitted"
    if origin is Literal:
        return "one of " + ", ".join(args)
    if origin is Annotated:
        bounds = args[1]
        return f"a whole number from {bounds.ge} to {bounds.le}"
    raise TypeError(annotation)


SCREENING_ALLOWED: dict[str, str] = {
    field.name: _allowed_text(field.type) for field in msgspec.structs.fields(ScreeningAnswers)
}
_WHOLE_NUMBER_ANSWERS = ("months_without_progress", "locus_composite")


def parse_screening_answers(data: object, *, from_text: bool = False) -> ScreeningAnswers:
    """Validate answers from JSON, a form or flags; raise InputError naming the field.

    `from_text`: every value arrived as text (an HTML form, command-line flags), so whole numbers
    such as months_without_progress are read from strings too, digits only: msgspec alone would
    also take "1e1" as 10 and "null" as no answer.
    """
    if from_text and isinstance(data, dict):
        for field in _WHOLE_NUMBER_ANSWERS:
            text = data.get(field)
            if isinstance(text, str) and not (text.isascii() and text.isdigit()):
                raise InputError.at(field, f"must be {SCREENING_ALLOWED[field]} (got {text!r})")
    try:
        return msgspec.convert(data, ScreeningAnswers, strict=not from_text)
    except msgspec.ValidationError as exc:
        raise _screening_error(str(exc), data) from None


def _screening_error(text: str, data: object) -> InputError:
    """msgspec's message reworded for staff: the field, what it accepts, and what was sent."""
    message, _, path = text.partition(" - at `$.")
    field = path.removesuffix("`")
    if field in SCREENING_ALLOWED:  # a value of the wrong type or out of range
        sent = data.get(field) if isinstance(data, dict) else None
        return InputError.at(field, f"must be {SCREENING_ALLOWED[field]} (got {sent!r})")
    if missing := re.fullmatch(r"Object missing required field `(\w+)`", message):
        return InputError.at(missing[1], f"is required: {SCREENING_ALLOWED[missing[1]]}")
    if unknown := re.fullmatch(r"Object contains unknown field `(.+)`", message):
        known = ", ".join(SCREENING_ALLOWED)
        return InputError.at(unknown[1], f"is not a screening answer (known: {known})")
    field, _, rule = message.partition(": ")  # a rule across fields, phrased "field: rule"
    if field in SCREENING_ALLOWED:
        return InputError.at(field, rule)
    return InputError.at("answers", message)  # not an object at all

