"""Cost terms from a verification alone, at the program's own rates (no plan file).

The 271 gives the member's cost sharing; the program file gives the allowed amount its contract
with the payer sets (or its default), its charge and its self-pay price. A value the payer did
not state is **unknown, never zero**: it is returned as a `MissingValue` naming it ("the payer
did not state the IOP coinsurance"), unless staff entered it (source "entered by staff"); a
scenario needing an unknown value is not priced. Rules where the 271 is silent (docs/rules.md,
"Estimates from a verification alone"): with a copay or a coinsurance stated, the other is none;
a copay-only benefit waives the deductible; no visit limit stated is no limit; prior
authorization stated as required uses the program's usual initial and review units and the
contract's no-authorization policy; the plan year is the payer's plan period, else the calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal

from msgspec import Struct
from msgspec.structs import replace

from coverage.eligibility.benefits import LevelBenefits, VerifiedBenefits
from coverage.errors import InputError, Problem
from coverage.levels import LEVEL_ORDER, LEVELS, Category, Level, Network, category_key
from coverage.money import Money, Percent, format_usd, parse_money
from coverage.parity.schema import CATEGORY_KEYS
from coverage.plans import (
    Accumulators,
    Benefit,
    Benefits,
    Effective,
    LoadedPlan,
    MonthDay,
    NetworkAccumulators,
    Plan,
    ProgramRules,
)
from coverage.pricing.terms import CostTerms, SourcedValue
from coverage.pricing.verification import agreed, verification_label
from coverage.program import LoadedProgram

ENTERED = "entered by staff"
LEVEL_WORDS: dict[Level, str] = {"op": "weekly therapy", "iop": "IOP", "php": "PHP"}
LIMIT_KEYS = {  # entered key -> (LevelBenefits accumulator, NetworkAccumulators attribute, words)
    "deductible_individual": (
        "deductible_individual",
        "deductible_individual_cents",
        "individual deductible",
    ),
    "oop_max_individual": ("oop_individual", "oop_max_individual_cents", "out-of-pocket maximum"),
    "deductible_family": ("deductible_family", "deductible_family_cents", "family deductible"),
    "oop_max_family": ("oop_family", "oop_max_family_cents", "family out-of-pocket maximum"),
}
REQUIRED_LIMITS = ("deductible_individual", "oop_max_individual")
ENTERED_KEYS = (
    *(f"{key}.{name}" for key in CATEGORY_KEYS for name in ("coinsurance", "copay")),
    *LIMIT_KEYS,
)
Entered = dict[str, Money | Percent | None]  # None: "none" (no out-of-pocket maximum)
Cite = Callable[[str, str, str], None]  # (value name, value, source)


class MissingValue(Struct, frozen=True):
    """A value pricing needs that the payer did not state and staff have not entered."""

    key: str  # what staff enter it as (`entered` key), e.g. "mh_iop.coinsurance"
    level: Level | None  # None: every scenario needs it
    message: str  # "the payer did not state the IOP coinsurance"


class ProgramTerms(Struct, frozen=True):
    terms: CostTerms
    plan: LoadedPlan  # what the estimate reports about "the plan": the payer, the plan year
    missing: list[MissingValue]
    notes: list[str]


def parse_entered(values: Mapping[str, str]) -> Entered:
    """Staff-entered values ("20%" or "20", "1500.00", "none" for no out-of-pocket maximum);
    an InputError names each bad one as `entered.<key>`."""
    parsed: Entered = {}
    problems: list[Problem] = []
    for key, text in values.items():
        field, text = f"entered.{key}", text.strip()
        try:
            if key not in ENTERED_KEYS:
                raise ValueError(f"is not a value an estimate takes; use one of {', '.join(ENTERED_KEYS)}")
            if key.endswith(".coinsurance"):
                parsed[key] = Percent.parse(text if text.endswith("%") else f"{text}%")
            elif key.startswith("oop_max") and text.lower() == "none":
                parsed[key] = None
            else:
                parsed[key] = parse_money(text)
        except (TypeError, ValueError) as exc:
            problems.append(Problem(field, str(exc).replace("money", "the amount", 1)))
    if problems:
        raise InputError(problems)
    return parsed


def _plan_year_start(verified: VerifiedBenefits | None) -> tuple[MonthDay, str]:
    start, end = (verified.coverage_start, verified.coverage_end) if verified else (None, None)
    if start is not None and end is not None and (start.month, start.day) != (2, 29):
        try:
            one_year = dt.date(start.year + 1, start.month, start.day) - dt.timedelta(days=1)
        except ValueError:
            one_year = None
        if end == one_year:
            return MonthDay(start.month, start.day), f"the payer's plan period {start} to {end}"
    return MonthDay(1, 1), "the payer stated no one-year plan period: the calendar year is assumed"


def _plan(
    program: LoadedProgram, plan_id: str, name: str, payer: str, year_start: MonthDay, start: dt.date
) -> LoadedPlan:
    """The estimate's "plan": the plan year containing `start` (units past it renew unchanged)."""
    first = year_start.plan_year_of(start)
    try:
        last = dt.date(first.year + 1, first.month, first.day) - dt.timedelta(days=1)
    except ValueError:  # a plan year starting on a day the next year lacks is refused by MonthDay
        last = first.replace(year=first.year + 1) - dt.timedelta(days=1)
    plan = Plan(
        id=plan_id,
        name=name,
        payer=payer,
        kind="commercial",
        plan_year_start=year_start,
        effective=Effective(first, last),
        accumulators=Accumulators(in_network=NetworkAccumulators(Money(0))),
        benefits=Benefits(),
        sample_data=program.program.sample_data,
    )
    return LoadedPlan(plan=plan, file=program.file, present_keys=frozenset())


def _self_pay(program: LoadedProgram, category: Category) -> tuple[dict[Level, int], dict[str, SourcedValue]]:
    prices: dict[Level, int] = {}
    sources: dict[str, SourcedValue] = {}
    for level in LEVEL_ORDER:
        service, path = program.service(category, level)
        prices[level] = service.self_pay_cents
        name = f"{category_key(category, level)}.self_pay"
        sources[name] = SourcedValue(
            name, format_usd(service.self_pay_cents), program.source_of(f"{path}.self_pay")
        )
    return prices, sources


def self_pay_terms(
    program: LoadedProgram, category: Category, start: dt.date, reason: str = "self-pay client"
) -> ProgramTerms:
    """Nothing covered: every unit at the program's self-pay (cash) price."""
    prices, sources = _self_pay(program, category)
    name = program.program.name
    terms = CostTerms(
        network="out",
        category=category,
        benefits=dict.fromkeys(LEVEL_ORDER),
        limits=None,
        plan_year_start=MonthDay(1, 1),
        self_pay_cents=prices,
        program_rules=ProgramRules(),
        sources=sources,
        plan_id="self-pay",
    )
    plan = _plan(program, "self-pay", f"Self-pay at {name}'s prices", reason, MonthDay(1, 1), start)
    terms = _with_end(terms, plan)
    return ProgramTerms(
        terms, plan, [], [f"{reason.capitalize()}: every unit is at {name}'s self-pay price."]
    )


def _with_end(terms: CostTerms, plan: LoadedPlan) -> CostTerms:
    return replace(terms, effective_end=plan.plan.effective.end, plan_year_start=plan.plan.plan_year_start)


def verification_terms(
    program: LoadedProgram,
    verified: VerifiedBenefits,
    record_id: int,
    verified_on: dt.date,
    payer_id: str,
    category: Category,
    start: dt.date,
    entered: Entered,
) -> ProgramTerms:
    """What the payer stated for the member, at the contract's allowed amounts; gaps named."""
    label = verification_label(record_id, verified_on)
    network: Network = program.terms(payer_id, category, "op").network
    sources: dict[str, SourcedValue] = {}
    missing: list[MissingValue] = []
    notes: list[str] = []

    def cite(name: str, value: str, source: str) -> None:
        sources[name] = SourcedValue(name, value, source)

    contract = program.terms(payer_id, category, "op")
    cite("network", network, program.source_of(contract.network_path))
    benefits: dict[Level, Benefit | None] = {}
    stated_levels = [verified.level(category, level, network) for level in LEVEL_ORDER]
    for level, stated in zip(LEVEL_ORDER, stated_levels, strict=True):
        benefit, level_missing = _level_benefit(program, payer_id, stated, label, entered, cite, notes)
        benefits[level] = benefit
        missing += level_missing
    limits: dict[str, Money | None] = {}
    for key, (field, attribute, words) in LIMIT_KEYS.items():
        total = agreed([acc.total_cents if (acc := getattr(s, field)) else None for s in stated_levels])
        if key in entered:
            value = entered[key]
            limits[attribute] = value
            cite(key, "none" if value is None else format_usd(value), ENTERED)
        elif total is not None:
            limits[attribute] = Money(total)
            where = next(s.sources[field] for s in stated_levels if getattr(s, field))
            cite(key, format_usd(total), f"{label}: {where}")
        elif key in REQUIRED_LIMITS:
            missing.append(MissingValue(key, None, f"the payer did not state the {words}"))
        else:
            limits[attribute] = None
    self_pay, self_pay_sources = _self_pay(program, category)
    sources |= {name: source for name, source in self_pay_sources.items() if benefits[_level(name)] is None}
    year_start, year_source = _plan_year_start(verified)
    cite("plan_year_start", str(year_start), f"{label}: {year_source}")
    payer = program.payer_name(payer_id) or verified.payer_name or payer_id
    name = f"{payer}, verification #{record_id}, at {program.program.name}'s rates"
    plan = _plan(program, f"verification-{record_id}", name, payer, year_start, start)
    accumulators = None
    if "deductible_individual_cents" in limits and "oop_max_individual_cents" in limits:
        accumulators = NetworkAccumulators(**limits)  # type: ignore[arg-type]
    terms = CostTerms(
        network=network,
        category=category,
        benefits=benefits,
        limits=accumulators if accumulators is not None else NetworkAccumulators(Money(0)),
        plan_year_start=year_start,
        self_pay_cents=self_pay,
        program_rules=ProgramRules(),
        sources=sources,
        plan_id=plan.plan.id,
        effective_end=plan.plan.effective.end,
    )
    return ProgramTerms(terms, plan, missing, notes)


def _level(source_name: str) -> Level:
    key = source_name.split(".")[0]
    return next(level for level in LEVEL_ORDER if key.endswith(f"_{LEVELS[level].benefit_suffix}"))


def _level_benefit(
    program: LoadedProgram,
    payer_id: str,
    stated: LevelBenefits,
    label: str,
    entered: Entered,
    cite: Cite,
    notes: list[str],
) -> tuple[Benefit | None, list[MissingValue]]:
    """One level's benefit: the payer's cost sharing on the contract's allowed amount."""
    level, category = stated.level, stated.category
    key = category_key(category, level)
    words = LEVEL_WORDS[level]
    if stated.active is False:
        cite(f"{key}.covered", "false", f"{label}: {stated.sources.get('active', 'the payer')}: not covered")
        return None, []
    contract = program.terms(payer_id, category, level)
    service, path = program.service(category, level)
    copay = _share(key, "copay", stated.copay_cents, entered, label, stated, cite)
    coinsurance = _share(key, "coinsurance", stated.coinsurance, entered, label, stated, cite)
    if copay is None and coinsurance is None:
        message = f"the payer did not state the {words} coinsurance or copay"
        return None, [MissingValue(f"{key}.coinsurance", level, message)]
    for name, value, none in (("copay", copay, format_usd(0)), ("coinsurance", coinsurance, "0%")):
        if value is None:
            other = "coinsurance" if name == "copay" else "copay"
            cite(f"{key}.{name}", none, f"not stated with the {other}: none (docs/rules.md)")
            notes.append(f"{label}: {words}: the payer states a {other} and no {name}; no {name} is assumed.")
    copay_cents = Money(copay if isinstance(copay, int) else 0)
    share = coinsurance if isinstance(coinsurance, Percent) else Percent(Decimal(0))
    waived = copay_cents > 0 and share.fraction == 0
    cite(
        f"{key}.deductible_applies",
        str(not waived).lower(),
        "rule: a copay-only benefit waives the deductible"
        if waived
        else "rule: coinsurance follows the deductible",
    )
    cite(f"{key}.allowed", format_usd(contract.allowed_cents), program.source_of(contract.allowed_path))
    cite(f"{key}.billed", format_usd(service.charge_cents), program.source_of(f"{path}.charge"))
    prior_auth = stated.prior_auth is True
    auth: dict[str, object] = {}
    if prior_auth:
        auth = {
            "auth_initial_units": service.auth_initial_units,
            "auth_review_units": service.auth_review_units,
            "no_auth": contract.no_auth,
        }
        cite(f"{key}.prior_auth", "true", f"{label}: {stated.sources['prior_auth']}")
        cite(
            f"{key}.auth_units",
            f"{service.auth_initial_units} then {service.auth_review_units} per review",
            program.source_of(f"{path}.auth_initial_units"),
        )
        cite(f"{key}.no_auth", str(contract.no_auth), program.source_of(contract.no_auth_path))
    else:
        source = (
            f"{label}: {stated.sources['prior_auth']}"
            if stated.prior_auth is False
            else "not stated: none assumed"
        )
        cite(f"{key}.prior_auth", "false", source)
    visit_limit = stated.visit_limit or 0
    visit_source = (
        f"{label}: {stated.sources['visit_limit']}"
        if stated.visit_limit is not None
        else "not stated: no limit"
    )
    cite(f"{key}.visit_limit", str(visit_limit or "none"), visit_source)
    benefit = Benefit(
        allowed_cents=Money(contract.allowed_cents),
        coinsurance=share,
        deductible_applies=not waived,
        copay_cents=copay_cents,
        billed_cents=service.charge_cents,
        prior_auth=prior_auth,
        visit_limit=visit_limit,
        **auth,  # type: ignore[arg-type]
    )
    return benefit, []


def _share(
    key: str,
    name: str,
    stated: int | Decimal | None,
    entered: Entered,
    label: str,
    level: LevelBenefits,
    cite: Cite,
) -> int | Percent | None:
    """A copay (cents) or coinsurance (Percent): staff's entry, else the payer's, else None."""
    if f"{key}.{name}" in entered:
        value = entered[f"{key}.{name}"]
        cite(f"{key}.{name}", str(value) if isinstance(value, Percent) else format_usd(value or 0), ENTERED)
        return value
    if stated is None:
        return None
    field = "copay_cents" if name == "copay" else "coinsurance"
    if isinstance(stated, Decimal):
        value = Percent(stated)
        cite(f"{key}.{name}", str(value), f"{label}: {level.sources[field]}")
        return value
    cite(f"{key}.{name}", format_usd(stated), f"{label}: {level.sources[field]}")
    return stated
