"""The Good Faith Estimate a self-pay client is owed (No Surprises Act, 45 CFR 149.610).

Built from one priced scenario of an estimate: its units priced at the self-pay rate (every unit
for a self-pay client; for an insured client, the units the plan does not cover) become the
itemized list, grouped by provider (the program is the convening provider and, in this product,
the only one), with the program file's codes, the patient's name and date of birth, the
diagnosis codes staff enter, the program's name, NPI, TIN, state and location, the services it
schedules separately and the disclaimers 149.610(c)(1)(vii)-(x) require. The content is a plain
struct so that the issued GFE can be stored as it was and reprinted exactly (docs/rules.md).
"""

from __future__ import annotations

import datetime as dt
import re

from msgspec import Struct

from coverage.errors import InputError
from coverage.estimate import Estimate, Scenario
from coverage.levels import LEVELS
from coverage.money import format_usd
from coverage.program import LoadedProgram, service_code_text

CITATION = "45 CFR 149.610(c)"
DISPUTE_THRESHOLD_CENTS = 400_00  # "substantially in excess": at least $400 more (45 CFR 149.620(a)(2))
MAX_RECURRING_MONTHS = 12  # a GFE for recurring services may cover up to 12 months (45 CFR 149.610(b))
_ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


class Patient(Struct, frozen=True):
    name: str
    date_of_birth: dt.date


class GfeItem(Struct, frozen=True):
    service: str  # in plain words
    service_code: str  # CPT/HCPCS (and revenue code)
    units: int
    charge_per_unit_cents: int
    total_cents: int


class GfeProvider(Struct, frozen=True):
    """One provider or facility and its items (149.610(c)(1)(iii)-(v))."""

    role: str
    name: str
    npi: str
    tin: str
    location: str
    state: str
    items: list[GfeItem]
    total_cents: int


class GoodFaithEstimate(Struct, frozen=True):
    """Every element of 45 CFR 149.610(c)(1), as issued."""

    patient: Patient
    primary_service: str
    scheduled_date: dt.date | None
    period_start: dt.date
    period_end: dt.date
    diagnosis_codes: list[str]
    providers: list[GfeProvider]
    total_cents: int
    separately_scheduled: list[str]
    disclaimers: list[str]
    contact: str  # who to call about it: the program's phone and contact
    basis: str  # what the estimate rested on (self-pay prices, or a verification)
    sample_data: bool


def check_diagnosis_codes(codes: list[str]) -> list[str]:
    """ICD-10-CM codes as staff typed them ("F33.1"), upper-cased; a bad one is named."""
    cleaned = [code.strip().upper() for code in codes if code.strip()]
    for code in cleaned:
        if not _ICD10.fullmatch(code):
            raise InputError.at("diagnosis_codes", f"{code[:12]!r} is not an ICD-10-CM code such as F33.1")
    return cleaned


def disclaimers(program: LoadedProgram, end: dt.date, start: dt.date) -> list[str]:
    """The disclaimers 149.610(c)(1)(vii)-(x) require, in plain words."""
    lines = [
        "This Good Faith Estimate shows the costs of items and services that are reasonably expected for "
        "your health care needs for an item or service. The estimate is based on information known at the "
        "time the estimate was created. It is only an estimate: actual items, services, or charges may "
        "differ from it.",
        "There may be additional items or services we recommend as part of your course of care that must be "
        "scheduled or requested separately and are not reflected in this Good Faith Estimate. For a Good "
        f"Faith Estimate of those, ask us: {program.program.phone}, {program.program.contact}.",
        "You have the right to initiate a patient-provider dispute resolution process if the actual billed "
        f"charges are {format_usd(DISPUTE_THRESHOLD_CENTS)} or more above the expected charges in this "
        "Good Faith Estimate (for any provider or facility listed). You may contact the provider or facility "
        "listed to tell them the billed charges are higher than the estimate, ask them to update the bill "
        "or to negotiate, or ask if there is financial assistance. To learn how to start a dispute, visit "
        "www.cms.gov/nosurprises or call 1-800-985-3059. Starting a dispute will not adversely affect the "
        "quality of the care you receive.",
        "This Good Faith Estimate is not a contract and does not require you to obtain the items or services "
        "from any of the providers or facilities listed. Keep a copy or picture of it.",
    ]
    if (end - start).days > 31:
        lines.append(
            f"For recurring services, a Good Faith Estimate may cover up to {MAX_RECURRING_MONTHS} months; "
            "this one covers "
            f"{start.isoformat()} to {end.isoformat()}. A new estimate will be given for care beyond that."
        )
    return lines


def _items(program: LoadedProgram, scenario: Scenario, category: str) -> list[GfeItem]:
    items = []
    for line in scenario.self_pay_units:
        service, _ = program.service(category, line.level)  # type: ignore[arg-type]
        words = f"{service.description}, {LEVELS[line.level].unit_name}s"
        code = service_code_text(service)
        items.append(GfeItem(words, code, line.units, line.rate_cents, line.total_cents))
    return items


def good_faith_estimate(
    program: LoadedProgram,
    result: Estimate,
    scenario_name: str,
    patient: Patient,
    diagnosis_codes: list[str],
) -> GoodFaithEstimate:
    """The GFE for the self-pay units of one scenario; an InputError when it has none."""
    scenario = next((s for s in result.scenarios if s.name == scenario_name), None)
    if scenario is None:
        priced = ", ".join(s.name for s in result.scenarios) or "none priced yet"
        raise InputError.at("gfe_scenario", f"is not a priced scenario of this estimate ({priced})")
    if not scenario.self_pay_units:
        message = (
            "no unit of this scenario is priced at the self-pay rate: a Good Faith Estimate is for "
            "self-pay clients and for units a plan does not cover"
        )
        raise InputError.at("gfe_scenario", message)
    if (scenario.end_date - scenario.start_date).days > 366:
        raise InputError.at("horizon_weeks", "a Good Faith Estimate covers at most 12 months of care")
    codes = check_diagnosis_codes(diagnosis_codes)
    items = _items(program, scenario, result.category)
    facts = program.program
    location = facts.locations[0]
    provider = GfeProvider(
        role="Convening provider and facility",
        name=facts.name,
        npi=facts.npi,
        tin=facts.tin,
        location=f"{location.name}, {location}",
        state=location.state,
        items=items,
        total_cents=sum(item.total_cents for item in items),
    )
    basis = (
        "self-pay prices (no insurance used)"
        if result.self_pay
        else f"{result.plan_name}: the units the plan does not cover, at the self-pay rate"
    )
    return GoodFaithEstimate(
        patient=patient,
        primary_service=f"{scenario.label} ({', '.join(scenario.phases)})",
        scheduled_date=scenario.start_date,
        period_start=scenario.start_date,
        period_end=scenario.end_date,
        diagnosis_codes=codes,
        providers=[provider],
        total_cents=provider.total_cents,
        separately_scheduled=list(facts.separately_scheduled),
        disclaimers=disclaimers(program, scenario.end_date, scenario.start_date),
        contact=f"{facts.name}: {facts.phone}; {facts.contact}",
        basis=basis,
        sample_data=facts.sample_data,
    )
