"""HTML form fields -> EstimateRequest, with every bad field's message keyed by its form name.

Forms take money in dollars ("1,500.00"), parsed exactly with parse_money; the request
carries cents. A field's form name is the request field without `_cents`. The Admissions
form's optional screening questions are named as the ScreeningAnswers fields.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Mapping
from typing import Any

import msgspec

from coverage.dates import parse_date
from coverage.errors import InputError, Problem
from coverage.estimate import EstimateRequest
from coverage.i18n import N_
from coverage.money import parse_money
from coverage.screening.answers import ScreeningAnswers, parse_screening_answers
from coverage.screening.rubric import LevelRecommendation, recommend_level
from coverage.validation import field_errors

_REQUEST_FIELDS = tuple(field.name for field in msgspec.structs.fields(EstimateRequest))
SCREENING_FIELDS = tuple(field.name for field in msgspec.structs.fields(ScreeningAnswers))
_REQUIRED_SCREENING = tuple(f.name for f in msgspec.structs.fields(ScreeningAnswers) if f.required)
ENTERED_PREFIX = "entered."  # form fields "entered.mh_iop.coinsurance": values staff supply
_WHOLE_NUMBERS = {"horizon_weeks": " of weeks", "verification_id": " (the verification's #)"}


def form_name(request_field: str) -> str:
    return request_field.removesuffix("_cents")


def form_errors(error: InputError) -> dict[str, str]:
    """An input error as messages keyed by form field name, shown next to each field (the first
    problem of a field wins); a problem of the request's own field names its form field."""
    messages: dict[str, str] = {}
    for problem in error.problems:
        messages.setdefault(form_name(problem.field or ""), problem.message)
    return messages


def _raise_for(messages: dict[str, str]) -> None:
    if messages:
        raise InputError(Problem(name, message) for name, message in messages.items())


def _parse(field: str, text: str) -> Any:
    if field.endswith("_cents"):
        try:
            return parse_money(text)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{str(exc).replace('money', 'the amount', 1)} (dollars, such as 1500.00)"
            ) from None
    if field == "start_date":
        return parse_date(text)
    if field == "self_pay":
        if text not in ("yes", "no"):
            raise ValueError("must be yes or no")
        return text == "yes"
    if field in _WHOLE_NUMBERS:
        if not (text.isascii() and text.isdigit()):
            raise ValueError(f"must be a whole number{_WHOLE_NUMBERS[field]}; got {text[:24]!r}")
        if len(text) > 18:  # the request's own bounds (see field_errors below) name the limit
            raise ValueError(f"must be a whole number{_WHOLE_NUMBERS[field]} of at most 18 digits")
        return int(text)
    return text


def request_from_form(form: Mapping[str, str], **fixed: Any) -> EstimateRequest:
    """The request the form describes; blank fields take the request's defaults.

    `fixed` sets request fields the page decides itself (e.g. the Compare page's plan id).
    Raises InputError naming every field that is malformed or breaks a request rule.
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for field in _REQUEST_FIELDS:
        text = form.get(form_name(field), "").strip()
        if field in fixed or not text or field == "entered":
            continue
        try:
            values[field] = _parse(field, text)
        except ValueError as exc:
            errors[form_name(field)] = str(exc)
    entered = {
        name.removeprefix(ENTERED_PREFIX): text.strip()
        for name, text in form.items()
        if name.startswith(ENTERED_PREFIX) and text.strip()
    }
    if entered and "entered" not in fixed:
        values["entered"] = entered
    values |= fixed
    for error in field_errors(values, EstimateRequest):
        field = (error.field or "").split(".")[0]
        errors.setdefault(form_name(field), error.message)
    _raise_for(errors)
    return msgspec.convert(values, EstimateRequest)


def screening_from_form(form: Mapping[str, str]) -> LevelRecommendation | None:
    """The screening's recommendation; None when every screening question was left blank.

    A partly answered screening names every unanswered question at once (staff fix them in
    one pass); otherwise the first bad answer, as parse_screening_answers reports it.
    """
    answered = {name: text for name in SCREENING_FIELDS if (text := form.get(name, "").strip())}
    if not answered:
        return None
    if missing := [name for name in _REQUIRED_SCREENING if name not in answered]:
        message = "answer every screening question, or leave them all blank"
        raise InputError(Problem(name, message) for name in missing)
    return recommend_level(parse_screening_answers(answered, from_text=True))


def screened_request_from_form(form: Mapping[str, str]) -> tuple[EstimateRequest, LevelRecommendation | None]:
    """The request with the screening's level as `recommended_level`, unless staff chose one.

    Raises InputError naming the bad screening answers and bad request fields together.
    """
    errors: dict[str, str] = {}
    recommendation = None
    try:
        recommendation = screening_from_form(form)
    except InputError as exc:
        errors |= form_errors(exc)
    fixed = {}
    if recommendation and not form.get("recommended_level", "").strip():
        fixed["recommended_level"] = recommendation.level
    request = None
    try:
        request = request_from_form(form, **fixed)
    except InputError as exc:
        errors |= form_errors(exc)
    _raise_for(errors)
    assert request is not None  # request_from_form raised otherwise, and so did _raise_for
    return request, recommendation


# --- the public Compare page: labels and messages in the visitor's words -------------------

COMPARE_LABELS = {  # form name -> the label the page shows (translated where shown)
    "plan_id": N_("Your plan"),
    "network": N_("Is the program in your plan's network?"),
    "copay": N_("Therapy session copay"),
    "coinsurance": N_("Coinsurance (percent)"),
    "deductible": N_("Yearly deductible"),
    "oop_max": N_("Out-of-pocket maximum"),
    "category": N_("Care for"),
    "start_date": N_("When would care start?"),
    "deductible_met": N_("Already paid toward your deductible this year"),
    "oop_met": N_("Already paid toward your out-of-pocket maximum this year"),
}
_MONEY_FORMAT = N_("Write an amount in dollars, such as 1500.00, or 0.")
_BLANK = {
    "deductible": N_("Enter your yearly deductible, or 0 if your plan has none."),
    "coinsurance": N_(
        "Enter your coinsurance: your share after the deductible, such as 20, or 0 if you pay none."
    ),
    "start_date": N_("Enter the date care would start, such as 2026-03-02."),
}
_RULE = {  # the value has the right form but breaks a rule against the plan
    "plan_id": N_("Choose your plan from the list."),
    "start_date": N_("Choose a start date within your plan's current year."),
    "oop_max": N_(
        "Enter an out-of-pocket maximum at least as large as the deductible, or leave it blank if "
        "your plan has none."
    ),
    "coinsurance": N_("Enter your share as a percentage from 0 to 100, such as 20."),
    "deductible_met": N_("Enter no more than your plan's yearly deductible."),
    "oop_met": N_(
        "Enter at least what you paid toward your deductible, and no more than your out-of-pocket maximum."
    ),
}


def compare_message(name: str, text: str, t: gettext.NullTranslations) -> str:
    """What the visitor should do about a field the page refused, in their language."""
    text = text.strip()
    if not text and name in _BLANK:
        return t.gettext(_BLANK[name])
    if name == "start_date":
        try:
            parse_date(text)
        except ValueError:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return t.gettext("{date} is not a date: check the month and day.").format(date=text)
            return t.gettext("Write the date as YYYY-MM-DD, such as 2026-03-02.")
    elif name in ("copay", "deductible", "oop_max", "deductible_met", "oop_met"):
        try:
            if parse_money(text) < 0:
                return t.gettext(_MONEY_FORMAT)
        except (TypeError, ValueError):
            return t.gettext(_MONEY_FORMAT)
    return t.gettext(_RULE.get(name, _MONEY_FORMAT))
