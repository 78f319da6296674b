"""Estimates: plan + request -> cost terms -> schedules -> priced units -> per-month report.

This is the one entry point the CLI, the web service and the batch differential tests use.
It validates the request against the plan, prices each scenario with the engine, and
writes down every assumption and the source of every benefit value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Literal, NamedTuple

import msgspec
from msgspec import Meta, Struct

from coverage.eligibility.record import RecordId, VerificationRecord
from coverage.errors import InputError, unknown_plan
from coverage.levels import Category, Level, Network
from coverage.money import format_usd
from coverage.plans import LoadedPlan, PlanCatalog
from coverage.pricing.engine import AuthStatus
from coverage.pricing.program_terms import (
    ENTERED_KEYS,
    MissingValue,
    ProgramTerms,
    parse_entered,
    self_pay_terms,
    verification_terms,
)
from coverage.pricing.report import (
    AuthorizationNeed,
    CertificationReminder,
    CostBreakdown,
    Flag,
    LevelSummary,
    MonthSummary,
    authorization_needs,
    certification_reminders,
    level_summaries,
    monthly,
    scenario_flags,
    summarize,
)
from coverage.pricing.run_engine import PricedRun, price_scenario
from coverage.pricing.terms import (
    CostTerms,
    SourcedValue,
    StartingAccumulators,
    build_terms,
    catalog_terms,
    renewal_sources,
)
from coverage.pricing.verification import (
    VerifiedMet,
    apply_verification,
    inactive_terms,
    usable_verification,
    verification_assumptions,
    verification_label,
    verified_met,
)
from coverage.program import LoadedProgram
from coverage.rules import (
    FAMILY_AMOUNTS,
    FAMILY_OOP_BELOW_DEDUCTIBLE,
    MET_LIMITS,
    OOP_BELOW_DEDUCTIBLE,
    family_below_own,
    outside_effective,
    over_limit,
)
from coverage.schedule import (
    DEFAULT_HORIZON_WEEKS,
    MAX_HORIZON_WEEKS,
    Phase,
    format_pathway,
    pathway_end,
    scenario_pathways,
)

Cents = Annotated[int, Meta(ge=0, le=10_000_000_00)]
RecommendedLevel = Literal["op", "iop", "php", "refer_higher"]
SCENARIO_LABELS = {
    "weekly": "Weekly therapy",
    "iop": "IOP, then weekly therapy",
    "php": "PHP, then IOP, then weekly therapy",
    "custom": "Custom pathway",
}
EnteredText = Annotated[str, Meta(max_length=40)]
SCENARIO_FOR_LEVEL: dict[str, str] = {"op": "weekly", "iop": "iop", "php": "php"}


class EstimateRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """What an estimate needs from the caller; money in integer cents."""

    plan_id: str | None = None  # None: price from `verification_id` (or `self_pay`) at the program's rates
    start_date: dt.date
    network: Network | None = None  # None: in network with a plan file; else the program's contract says
    category: Category = "mh"
    deductible_met_cents: Cents | None = None  # None: not given (verified amount, else $0)
    oop_met_cents: Cents | None = None
    family_deductible_met_cents: Cents | None = None
    family_oop_met_cents: Cents | None = None
    horizon_weeks: Annotated[int, Meta(ge=1, le=MAX_HORIZON_WEEKS)] = DEFAULT_HORIZON_WEEKS
    pathway: str | None = None
    auth_status: AuthStatus = "approved"
    recommended_level: RecommendedLevel | None = None
    verification_id: RecordId | None = None  # a stored verification whose values override the plan's
    self_pay: bool = False  # no insurance: every unit at the program's self-pay price
    entered: Annotated[dict[str, EnteredText], Meta(max_length=len(ENTERED_KEYS))] = {}
    # values the payer did not state, entered by staff: "mh_iop.coinsurance": "20%" (no plan file only)


class SelfPayLine(Struct, frozen=True):
    """Units of one level priced at the self-pay rate: what a Good Faith Estimate itemizes."""

    level: Level
    units: int
    rate_cents: int
    total_cents: int


class UnpricedScenario(Struct, frozen=True):
    """A scenario that cannot be estimated yet: the values it still needs."""

    name: str
    label: str
    pathway: str
    missing: list[str]


class Scenario(Struct, kw_only=True):
    name: str
    label: str
    recommended: bool
    pathway: str
    phases: list[str]
    start_date: dt.date
    end_date: dt.date
    months: list[MonthSummary]
    totals: CostBreakdown
    levels: list[LevelSummary]  # in pathway order
    if_reviews_denied: CostBreakdown | None  # totals if no concurrent review is approved
    authorizations: list[AuthorizationNeed]
    certifications: list[CertificationReminder]
    flags: list[Flag]
    assumptions: list[str]
    self_pay_units: list[SelfPayLine] = []


class Estimate(Struct, kw_only=True):
    plan_id: str
    plan_name: str
    plan_kind: str
    sample_data: bool
    network: Network
    category: Category
    start_date: dt.date
    horizon_weeks: int
    auth_status: AuthStatus
    recommended_level: RecommendedLevel | None
    verification_id: int | None
    scenarios: list[Scenario]
    sources: list[SourcedValue]
    assumptions: list[str]
    flags: list[Flag]
    self_pay: bool = False
    unpriced: list[UnpricedScenario] = []  # "cannot estimate yet", each with what it needs
    missing: list[MissingValue] = []  # values the payer did not state and staff have not entered


# --- terms: plan file + request ------------------------------------------------------------


_MET_FIELDS = tuple(f"{rule.field}_cents" for rule in MET_LIMITS)


def starting_accumulators(
    request: EstimateRequest, terms: CostTerms, verified: VerifiedMet | None = None
) -> tuple[StartingAccumulators, list[SourcedValue], list[str]]:
    """Amounts already met: the request's, else the verification's, else derived or $0.

    Out-of-pocket met not given is taken as the deductible met (deductible payments count toward
    the out-of-pocket maximum); family out-of-pocket met not given, when the family deductible met
    is, as the larger of that and the client's out-of-pocket met. Each derivation is returned as an
    assumption. Every amount is checked against the plan's limits and the others, naming the field.
    """
    values: dict[str, int | None] = {}
    sources: list[SourcedValue] = []
    for field in _MET_FIELDS:
        name = field.removesuffix("_cents")
        given = getattr(request, field)
        verified_amount = getattr(verified, field) if verified is not None else None
        values[field] = None
        if given is not None:
            values[field] = given
            sources.append(
                SourcedValue(name, format_usd(given), f"request ({field}, as of {request.start_date})")
            )
        elif verified_amount is not None:
            values[field] = verified_amount
            sources.extend(source for source in verified.sources if source.name == name)  # type: ignore[union-attr]
    notes: list[str] = []
    if values["deductible_met_cents"] is None:
        values["deductible_met_cents"] = 0
        sources.append(SourcedValue("deductible_met", format_usd(0), "not given: nothing assumed met"))
    deductible_met = values["deductible_met_cents"]
    if values["oop_met_cents"] is None:
        values["oop_met_cents"] = deductible_met
        if deductible_met:
            sources.append(
                SourcedValue("oop_met", format_usd(deductible_met), "not given: taken as the deductible met")
            )
            notes.append(
                f"Out-of-pocket met was not given: taken as the deductible met, {format_usd(deductible_met)} "
                "(deductible payments count toward the out-of-pocket maximum)."
            )
        else:
            sources.append(SourcedValue("oop_met", format_usd(0), "not given: nothing assumed met"))
    family_deductible = values["family_deductible_met_cents"]
    if values["family_oop_met_cents"] is None and family_deductible is not None:
        family_oop = max(family_deductible, values["oop_met_cents"])
        values["family_oop_met_cents"] = family_oop
        sources.append(
            SourcedValue(
                "family_oop_met",
                format_usd(family_oop),
                "not given: the larger of the family deductible met and the client's out-of-pocket met",
            )
        )
        notes.append(
            f"Family out-of-pocket met was not given: taken as {format_usd(family_oop)}, the larger of the "
            "family deductible met and the client's out-of-pocket met (both count toward it)."
        )
    visits = verified.visits_remaining if verified is not None else {}
    if verified is not None:
        sources.extend(source for source in verified.sources if source.name.endswith(".visits_remaining"))
    start = StartingAccumulators(**values, visits_remaining=visits)  # type: ignore[arg-type]
    _check_met_against_limits(start, terms)
    return start, sources, notes


def _check_met_against_limits(start: StartingAccumulators, terms: CostTerms) -> None:
    """The rules of coverage.rules, in the words the batch uses too."""
    for rule in FAMILY_AMOUNTS:
        family, own = getattr(start, f"{rule.family}_cents"), getattr(start, f"{rule.own}_cents")
        if family is not None and family < own:
            raise InputError.at(f"{rule.family}_cents", family_below_own(rule, family, own))
    limits = terms.limits
    if limits is None:
        return
    for rule in MET_LIMITS:
        met = getattr(start, f"{rule.field}_cents")
        limit = getattr(limits, f"{rule.limit}_cents")
        if met is not None and limit is not None and met > limit:
            raise InputError.at(f"{rule.field}_cents", over_limit(rule, met, limit))
    if limits.has_oop_max and start.oop_met_cents < start.deductible_met_cents:
        raise InputError.at("oop_met_cents", OOP_BELOW_DEDUCTIBLE)
    family_deductible, family_oop = start.family_deductible_met_cents, start.family_oop_met_cents
    family_amounts = family_deductible is not None and family_oop is not None
    if limits.has_oop_max and family_amounts and family_oop < family_deductible:  # type: ignore[operator]
        raise InputError.at("family_oop_met_cents", FAMILY_OOP_BELOW_DEDUCTIBLE)


# --- scenarios -----------------------------------------------------------------------------


def pathways_for(request: EstimateRequest) -> dict[str, list[Phase]]:
    pathways = scenario_pathways(request.horizon_weeks, request.pathway)
    recommended = SCENARIO_FOR_LEVEL.get(request.recommended_level or "")
    if recommended in pathways:  # the recommended scenario goes first
        pathways = {recommended: pathways[recommended]} | pathways
    return pathways


def scenario_assumptions(phases: list[Phase], start_date: dt.date) -> list[str]:
    lines = [f"Starts {start_date}; " + "; then ".join(phase.describe() for phase in phases) + "."]
    return lines


def common_assumptions(
    request: EstimateRequest, terms: CostTerms, loaded: LoadedPlan, start: StartingAccumulators
) -> list[str]:
    plan = loaded.plan
    lines = [
        "Units fall on fixed weekdays (1/week: the start weekday; 2/week: start weekday and 3 days "
        "later; 3/week: Mon-Wed-Fri; 4/week: Mon-Thu; 5/week: Mon-Fri; 6/week: Mon-Sat). Holidays, "
        "missed sessions and cancellations are ignored.",
        "Each unit is priced in date order: deductible, then copay, then coinsurance on the rest "
        "(rounded half-up to the cent per unit), capped at the out-of-pocket maximum remaining.",
        f"Accumulators as of {request.start_date}: deductible met {format_usd(start.deductible_met_cents)}, "
        f"out-of-pocket met {format_usd(start.oop_met_cents)} (sources say where each comes from).",
        f"The plan year starts on {plan.plan_year_start} each year; deductible, out-of-pocket and visit "
        "counts reset then. Visits used earlier in the plan year are taken as zero unless the payer "
        "states the visits remaining.",
        "Intake evaluation (CPT 90791), psychiatric medication management, labs and transport "
        "are not included.",
    ]
    limits = terms.limits
    has_family_tier = limits is not None and (limits.deductible_family_cents or limits.oop_max_family_cents)
    if has_family_tier and start.family_deductible_met_cents is None and start.family_oop_met_cents is None:
        lines.append(
            "Family accumulators not given: other family members are assumed to have spent nothing "
            "toward the family deductible or out-of-pocket maximum."
        )
    if limits is not None and not limits.has_oop_max:
        lines.append("The plan has no out-of-pocket maximum: client cost has no annual cap.")
    lines.append(
        {
            "approved": "Prior authorization: the initial authorization and every concurrent review are "
            "assumed approved; units after the initial authorization are listed as at risk.",
            "initial_only": "Prior authorization: only the initial authorization is assumed; units needing "
            "concurrent review are priced under the plan's no-authorization policy.",
            "none": "Prior authorization: none obtained; every unit that needs it is priced under the "
            "plan's no-authorization policy.",
        }[request.auth_status]
    )
    if terms.network == "out" and terms.limits is not None:
        lines.append(
            "Out of network: the provider may bill the difference between its charge and the allowed "
            "amount (balance bill); it counts toward neither deductible nor out-of-pocket maximum."
        )
    if any(benefit is None for benefit in terms.benefits.values()) or limits is None:
        lines.append(
            "Levels with no benefit in this network are priced at a default self-pay rate (see sources)."
        )
    if plan.sample_data:
        lines.append(f"{plan.name} is illustrative sample data, not a real plan's benefits.")
    return lines


class _PathwayText(NamedTuple):
    """What a scenario says about its pathway alone: the same for every request on it."""

    end_date: dt.date
    pathway: str
    phases: tuple[str, ...]
    assumptions: tuple[str, ...]


@lru_cache(maxsize=1024)
def _pathway_text(phases: tuple[Phase, ...], start_date: dt.date) -> _PathwayText:
    return _PathwayText(
        pathway_end(list(phases), start_date),
        format_pathway(list(phases)),
        tuple(phase.describe() for phase in phases),
        tuple(scenario_assumptions(list(phases), start_date)),
    )


def _scenario(
    name: str,
    phases: list[Phase],
    request: EstimateRequest,
    terms: CostTerms,
    start: StartingAccumulators,
    loaded: LoadedPlan,
) -> Scenario:
    text = _pathway_text(tuple(phases), request.start_date)
    priced, denied = price_scenario(phases, request.start_date, terms, start, request.auth_status)
    if_denied = summarize(denied) if denied is not None else None
    levels, totals = level_summaries(phases, priced)
    return Scenario(
        name=name,
        label=SCENARIO_LABELS[name],
        recommended=SCENARIO_FOR_LEVEL.get(request.recommended_level or "") == name,
        pathway=text.pathway,
        phases=list(text.phases),
        start_date=request.start_date,
        end_date=text.end_date,
        months=monthly(priced, terms, request.start_date, text.end_date, start),
        totals=totals,
        levels=levels,
        if_reviews_denied=if_denied,
        authorizations=authorization_needs(priced, terms),
        certifications=certification_reminders(phases, request.start_date, terms),
        flags=scenario_flags(phases, priced, terms, loaded),
        assumptions=list(text.assumptions),
        self_pay_units=self_pay_lines(priced),
    )


def self_pay_lines(priced: list[PricedRun]) -> list[SelfPayLine]:
    """Units the client pays at the self-pay rate, per level and rate, in pathway order."""
    lines: dict[tuple[Level, int], int] = {}
    for run in priced:
        if run.not_covered_cents:
            key = (run.level, int(run.not_covered_cents))  # plain int: Money does not encode
            lines[key] = lines.get(key, 0) + run.count
    return [SelfPayLine(level, units, rate, units * rate) for (level, rate), units in lines.items()]


def check_dates(request: EstimateRequest, loaded: LoadedPlan) -> None:
    effective = loaded.plan.effective
    if not effective.start <= request.start_date <= effective.end:
        message = outside_effective(request.start_date, effective.start, effective.end)
        raise InputError.at("start_date", message)


def estimate_with_terms(
    loaded: LoadedPlan,
    request: EstimateRequest,
    terms: CostTerms,
    verified: VerifiedMet | None = None,
    verification_notes: Sequence[str] = (),
    verification_flags: Sequence[Flag] = (),
    missing: Sequence[MissingValue] = (),
) -> Estimate:
    """Price the request's scenarios against already-resolved terms (plan file or verified);
    a scenario needing a `missing` value is listed as not priced yet, with what it needs."""
    check_dates(request, loaded)
    start, met_sources, met_notes = starting_accumulators(request, terms, verified)
    pathways = pathways_for(request)
    flags: list[Flag] = list(verification_flags)
    if request.recommended_level == "refer_higher":
        flags.append(
            Flag(
                code="refer_higher",
                severity="warning",
                message=(
                    "Screening recommends a higher level of care (inpatient or residential) than these "
                    "scenarios; the costs below are for comparison only."
                ),
            )
        )
    scenarios: list[Scenario] = []
    unpriced: list[UnpricedScenario] = []
    for name, phases in pathways.items():
        levels = {phase.level for phase in phases}
        needs = [value.message for value in missing if value.level is None or value.level in levels]
        if needs:
            unpriced.append(UnpricedScenario(name, SCENARIO_LABELS[name], format_pathway(phases), needs))
        else:
            scenarios.append(_scenario(name, phases, request, terms, start, loaded))
    last_day = max((scenario.end_date for scenario in scenarios), default=request.start_date)
    renewed_sources, renewal_notes = renewal_sources(terms, last_day)
    return Estimate(
        plan_id=loaded.plan.id,
        plan_name=loaded.plan.name,
        plan_kind=loaded.plan.kind,
        sample_data=loaded.plan.sample_data,
        network=terms.network,
        category=request.category,
        start_date=request.start_date,
        horizon_weeks=sum(phase.weeks for phase in next(iter(pathways.values()))),
        auth_status=request.auth_status,
        recommended_level=request.recommended_level,
        verification_id=request.verification_id,
        scenarios=scenarios,
        sources=[*terms.sources.values(), *met_sources, *renewed_sources],
        assumptions=[
            *common_assumptions(request, terms, loaded, start),
            *met_notes,
            *renewal_notes,
            *verification_notes,
        ],
        flags=flags,
        self_pay=request.self_pay,
        unpriced=unpriced,
        missing=list(missing),
    )


def estimate_for_plan(loaded: LoadedPlan, request: EstimateRequest) -> Estimate:
    """The estimate against one plan's own terms (a plan file, or one typed in on a page)."""
    terms = build_terms(loaded, request.network or "in", request.category)
    return estimate_with_terms(loaded, request, terms)


def estimate(
    catalog: PlanCatalog,
    request: EstimateRequest,
    verification: VerificationRecord | None = None,
    program: LoadedProgram | None = None,
) -> Estimate:
    """The estimate for a request against the plan file it names (and the plans that renew it),
    and the verification record it names (`request.verification_id`), which the caller has
    already read from its store. Without a plan file: from the verification alone (or for a
    self-pay client) at the rates of `program`."""
    if request.plan_id is None:
        return estimate_at_program_rates(program, request, verification)
    if request.self_pay or request.entered:
        field = "self_pay" if request.self_pay else "entered"
        raise InputError.at(field, "is only for an estimate without a plan_id (at the program's rates)")
    loaded = catalog.get(request.plan_id)
    if loaded is None:
        raise unknown_plan(request.plan_id)
    request = msgspec.structs.replace(request, network=request.network or "in")
    terms = catalog_terms(catalog, loaded, request.network or "in", request.category)
    if request.verification_id is None:
        return estimate_with_terms(loaded, request, terms)
    verified = usable_verification(verification, request.verification_id, request.plan_id)
    assert verification is not None  # usable_verification raised otherwise
    record = verification
    if record.outcome == "inactive":
        label = verification_label(record.id, record.verified_on)
        inactive = Flag(
            code="coverage_inactive",
            severity="warning",
            message=f"{label}: {record.message}. Every unit below is priced at the self-pay rate.",
        )
        return estimate_with_terms(
            loaded,
            request,
            inactive_terms(terms, record.id, record.verified_on),
            verification_notes=[f"{label}: coverage inactive; nothing is covered, every unit is self-pay."],
            verification_flags=[inactive],
        )
    terms = apply_verification(terms, verified, record.id, record.verified_on)
    met = verified_met(terms, verified, record.id, record.verified_on, request.start_date)
    notes = [*verification_assumptions(terms, verified, record.id, record.verified_on), *met.notes]
    return estimate_with_terms(loaded, request, terms, met, notes)


def estimate_at_program_rates(
    program: LoadedProgram | None, request: EstimateRequest, record: VerificationRecord | None
) -> Estimate:
    """No plan file: a verified 271 at the program's contracted rates, or a self-pay client at
    its self-pay prices. Values the payer did not state are named, never taken as zero."""
    if program is None:
        raise InputError.at(None, "the program file did not load (see the Admissions page or /health)")
    if request.self_pay == (request.verification_id is not None):
        message = "give a plan_id, or a verification_id, or self_pay: true for a client without insurance"
        raise InputError.at("verification_id" if request.self_pay else "plan_id", message)
    entered = parse_entered(request.entered)
    if request.self_pay:
        return _at_program_rates(request, self_pay_terms(program, request.category, request.start_date))
    assert request.verification_id is not None
    verified = usable_verification(record, request.verification_id, None)
    assert record is not None  # usable_verification raised otherwise
    label = verification_label(record.id, record.verified_on)
    if record.outcome == "inactive":
        inactive = Flag(
            code="coverage_inactive",
            severity="warning",
            message=f"{label}: {record.message}. Every unit below is at the program's self-pay price.",
        )
        priced = self_pay_terms(program, request.category, request.start_date, f"{label}: coverage inactive")
        return _at_program_rates(request, priced, flags=[inactive])
    found = verification_terms(
        program,
        verified,
        record.id,
        record.verified_on,
        record.request.payer_id,
        request.category,
        request.start_date,
        entered,
    )
    if request.network is not None and request.network != found.terms.network:
        said = "in" if found.terms.network == "in" else "out of"
        message = f"the program is {said} network with this payer (program file); leave it out"
        raise InputError.at("network", message)
    met = verified_met(found.terms, verified, record.id, record.verified_on, request.start_date)
    notes = [*verification_assumptions(found.terms, verified, record.id, record.verified_on), *met.notes]
    return _at_program_rates(request, found, met, notes)


def _at_program_rates(
    request: EstimateRequest,
    found: ProgramTerms,
    met: VerifiedMet | None = None,
    notes: Sequence[str] = (),
    flags: Sequence[Flag] = (),
) -> Estimate:
    request = msgspec.structs.replace(request, network=found.terms.network)
    result = estimate_with_terms(
        found.plan, request, found.terms, met, [*found.notes, *notes], flags, found.missing
    )
    return msgspec.structs.replace(result, plan_id=found.plan.plan.id)
