"""Plan files: `plans/*.toml` read into validated, immutable msgspec structs.

Validation is strict in the beancount spirit: unknown keys, bad percentages, negative or
inexact money and missing blocks are errors that name the file, the key path and the value.
One bad file never stops the others from loading: `load_catalog` returns both the plans that
loaded and the errors of those that did not.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import msgspec.inspect
from msgspec import Meta, Struct, field

from coverage.levels import Network
from coverage.money import Money, Percent, format_dollars, parse_money
from coverage.params import Reference
from coverage.params import resolve as resolve_national
from coverage.parity.schema import CATEGORY_KEYS, Parity, parity_errors

PlanKind = Literal["commercial", "medicare", "medicare_advantage", "medicaid"]
UnitCount = Annotated[int, Meta(ge=0, le=100_000)]


class MonthDay:
    """A plan-year start such as "07-01": the day on which accumulators reset every year."""

    __slots__ = ("day", "month")

    def __init__(self, month: int, day: int) -> None:
        self.month = month
        self.day = day

    @classmethod
    def parse(cls, text: object) -> MonthDay:
        if not isinstance(text, str) or not re.fullmatch(r"\d\d-\d\d", text):
            raise ValueError(f'plan_year_start must be "MM-DD" such as "01-01", got {text!r}')
        month, day = int(text[:2]), int(text[3:])
        try:
            dt.date(2025, month, day)  # a non-leap year: "02-29" cannot start every plan year
        except ValueError:
            raise ValueError(f"plan_year_start is not a day every year has, got {text!r}") from None
        return cls(month, day)

    def plan_year_of(self, day: dt.date) -> dt.date:
        """First day of the plan year that contains `day`."""
        this_year = dt.date(day.year, self.month, self.day)
        return this_year if this_year <= day else dt.date(day.year - 1, self.month, self.day)

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MonthDay) and (self.month, self.day) == (other.month, other.day)

    def __hash__(self) -> int:
        return hash((self.month, self.day))


class NoAuthPolicy:
    """What happens to a unit delivered without a needed authorization: "deny" or "penalty:N%"."""

    __slots__ = ("penalty",)

    def __init__(self, penalty: Percent | None) -> None:
        self.penalty = penalty

    @classmethod
    def parse(cls, text: object) -> NoAuthPolicy:
        if text == "deny":
            return cls(None)
        if isinstance(text, str) and text.startswith("penalty:"):
            return cls(Percent.parse(text.removeprefix("penalty:")))
        raise ValueError(f'no_auth must be "deny" or "penalty:N%" such as "penalty:50%", got {text!r}')

    @property
    def denies(self) -> bool:
        return self.penalty is None

    def __str__(self) -> str:
        return "deny" if self.penalty is None else f"penalty:{self.penalty}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoAuthPolicy) and self.penalty == other.penalty

    def __hash__(self) -> int:
        return hash(self.penalty)


class Effective(Struct, forbid_unknown_fields=True, frozen=True):
    start: dt.date
    end: dt.date


class NetworkAccumulators(Struct, forbid_unknown_fields=True, frozen=True):
    """Deductible and out-of-pocket limits for one network; None means no such limit."""

    deductible_individual_cents: Money = field(name="deductible_individual")
    deductible_family_cents: Money | None = field(name="deductible_family", default=None)
    oop_max_individual_cents: Money | None = field(name="oop_max_individual", default=None)
    oop_max_family_cents: Money | None = field(name="oop_max_family", default=None)

    @property
    def has_oop_max(self) -> bool:
        return self.oop_max_individual_cents is not None or self.oop_max_family_cents is not None


class Accumulators(Struct, forbid_unknown_fields=True, frozen=True):
    in_network: NetworkAccumulators
    out_of_network: NetworkAccumulators | None = None


class Benefit(Struct, forbid_unknown_fields=True, frozen=True):
    """Cost sharing for one benefit category in one network, per billed unit."""

    allowed_cents: Money = field(name="allowed")
    coinsurance: Percent
    deductible_applies: bool
    copay_cents: Money = field(name="copay", default=Money(0))
    billed_cents: Money | None = field(name="billed", default=None)
    prior_auth: bool = False
    auth_initial_units: UnitCount = 0
    auth_review_units: UnitCount = 0
    no_auth: NoAuthPolicy | None = None
    visit_limit: UnitCount = 0
    per_unit_member_cap_cents: Money | None = field(name="per_unit_member_cap", default=None)

    @property
    def self_pay_cents(self) -> int:
        """What a client pays for a unit the plan does not cover (SPEC 4 step 1)."""
        return self.billed_cents if self.billed_cents is not None else self.allowed_cents


class CategoryBenefits(Struct, forbid_unknown_fields=True, frozen=True):
    in_network: Benefit
    out_of_network: Benefit | None = None

    def for_network(self, network: Network) -> Benefit | None:
        return self.in_network if network == "in" else self.out_of_network


class Benefits(Struct, forbid_unknown_fields=True, frozen=True):
    mh_office: CategoryBenefits | None = None
    mh_iop: CategoryBenefits | None = None
    mh_php: CategoryBenefits | None = None
    sud_office: CategoryBenefits | None = None
    sud_iop: CategoryBenefits | None = None
    sud_php: CategoryBenefits | None = None


class ProgramRule(Struct, forbid_unknown_fields=True, frozen=True):
    """A program-level coverage condition (e.g. Original Medicare's IOP/PHP hour rules)."""

    min_hours_per_week: Annotated[int, Meta(ge=0, le=168)] = 0
    recertify_every_days: Annotated[int, Meta(ge=1, le=366)] | None = None
    recertify_first_after_days: Annotated[int, Meta(ge=1, le=366)] | None = None
    citation: str = ""


class ProgramRules(Struct, forbid_unknown_fields=True, frozen=True):
    iop: ProgramRule | None = None
    php: ProgramRule | None = None



class Plan(Struct, forbid_unknown_fields=True, frozen=True):
    id: Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
    name: str
    payer: str
    kind: PlanKind
    plan_year_start: MonthDay
    effective: Effective
    accumulators: Accumulators
    benefits: Benefits
    sample_data: bool = False
    notes: str = ""
    program_rules: ProgramRules = ProgramRules()
    parity: Parity | None = None
    renewed_by: str | None = None  # the plan id whose file prices the next plan year

    def benefit(self, category_key: str, network: Network) -> Benefit | None:
        category: CategoryBenefits | None = getattr(self.benefits, category_key)
        return category.for_network(network) if category else None

    def network_accumulators(self, network: Network) -> NetworkAccumulators | None:
        return self.accumulators.in_network if network == "in" else self.accumulators.out_of_network


class PlanError(Struct, frozen=True):
    """One located problem in one plan file."""

    file: str
    key_path: str
    message: str
    value: str | None = None

    def __str__(self) -> str:
        shown = f" (value: {self.value})" if self.value is not None else ""
        return f"{self.file}: {self.key_path}: {self.message}{shown}"


class LoadedPlan(Struct, frozen=True):
    """A validated plan plus where it came from, so every value can name its source."""

    plan: Plan
    file: str
    present_keys: frozenset[str]
    national: dict[str, Reference] = {}  # key path -> the national figure it names

    def source_of(self, key_path: str) -> str:
        if key_path in self.national:
            return f"{self.national[key_path].describe()}, named in plan file {self.file} [{key_path}]"
        if key_path in self.present_keys:
            return f"plan file {self.file} [{key_path}]"
        return f"plan file {self.file}: [{key_path}] not set, default used"


class PlanCatalog(Struct, frozen=True):
    plans: dict[str, LoadedPlan]
    errors: list[PlanError]

    def get(self, plan_id: str) -> LoadedPlan | None:
        return self.plans.get(plan_id)


class PlanFileError(Exception):
    def __init__(self, errors: list[PlanError]) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = errors


_CUSTOM_TYPES: dict[type, Any] = {
    Money: parse_money,
    Percent: Percent.parse,
    MonthDay: MonthDay.parse,
    NoAuthPolicy: NoAuthPolicy.parse,
}


def decode_hook(target: type, value: Any) -> Any:
    parser = _CUSTOM_TYPES.get(target)
    if parser is None:
        raise NotImplementedError(target)
    return parser(value)


def _enc_hook(value: Any) -> Any:
    if isinstance(value, Money):
        return format_dollars(value)
    if isinstance(value, Percent | MonthDay | NoAuthPolicy):
        return str(value)
    raise NotImplementedError(type(value))


def plan_to_builtins(plan: Plan) -> dict[str, Any]:
    """The validated plan in plan-file shape (dollars and percentages as strings)."""
    return msgspec.to_builtins(plan, enc_hook=_enc_hook)


def _key_paths(table: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        yield path
        if isinstance(value, dict):
            yield from _key_paths(value, path)


def _value_at(raw: dict[str, Any], key_path: str) -> str | None:
    node: Any = raw
    for key in key_path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return None if isinstance(node, dict) else repr(node)


_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def located(file: str, raw: dict[str, Any], error: msgspec.ValidationError, root: type = Plan) -> PlanError:
    """A msgspec validation error as a PlanError naming the file, key path and value (also used
    by the program file, `root` being its top-level struct)."""
    match = _AT.match(str(error))
    assert match is not None  # the pattern matches any string
    path = (match["path"] or "").lstrip(".")
    message = match["message"]
    unknown = re.match(r"Object contains unknown field `([^`]+)`", message)
    if unknown:
        path = f"{path}.{unknown[1]}" if path else unknown[1]
        message = "unknown key (check the spelling; see README 'Plan files')"
    if message.startswith("Invalid enum value"):
        message = f"{message}; allowed: {_allowed_values(path, root)}"
    missing = re.match(r"Object missing required field `([^`]+)`", message)
    if missing:
        path = f"{path}.{missing[1]}" if path else missing[1]
        message = "required key is missing"
    return PlanError(file, path or "(top level)", message, _value_at(raw, path))


def _allowed_values(key_path: str, root: type) -> str:
    """The choices of a Literal-typed key, for a helpful enum error."""
    info: msgspec.inspect.Type = msgspec.inspect.type_info(root)
    for key in key_path.split("."):
        if isinstance(info, msgspec.inspect.UnionType):
            info = next((t for t in info.types if isinstance(t, msgspec.inspect.StructType)), info)
        if not isinstance(info, msgspec.inspect.StructType):
            return "see README"
        info = next((f.type for f in info.fields if f.encode_name == key), msgspec.inspect.AnyType())
    if isinstance(info, msgspec.inspect.UnionType):  # an optional key: Literal[...] | None
        info = next((t for t in info.types if isinstance(t, msgspec.inspect.LiteralType)), info)
    if isinstance(info, msgspec.inspect.LiteralType):
        return ", ".join(map(str, info.values))
    return "see README"


def _semantic_errors(
    file: str, plan: Plan, raw: dict[str, Any], present_keys: frozenset[str]
) -> list[PlanError]:
    """Rules that cross keys, which a type cannot express."""
    errors: list[PlanError] = []

    def error(path: str, message: str) -> None:
        errors.append(PlanError(file, path, message, _value_at(raw, path)))

    if plan.effective.end < plan.effective.start:
        error("effective.end", f"ends before effective.start {plan.effective.start}")
    for network_key in ("in_network", "out_of_network"):
        limits: NetworkAccumulators | None = getattr(plan.accumulators, network_key)
        if limits is None:
            continue
        prefix = f"accumulators.{network_key}"
        if plan.kind == "medicare" and limits.has_oop_max:
            error(f"{prefix}.oop_max_individual", "Original Medicare has no out-of-pocket maximum")
        family = limits.deductible_family_cents
        if family is not None and family < limits.deductible_individual_cents:
            error(f"{prefix}.deductible_family", "is less than deductible_individual")
        oop, oop_family = limits.oop_max_individual_cents, limits.oop_max_family_cents
        if oop is not None and oop < limits.deductible_individual_cents:
            error(f"{prefix}.oop_max_individual", "is less than deductible_individual")
        if oop is not None and oop_family is not None and oop_family < oop:
            error(f"{prefix}.oop_max_family", "is less than oop_max_individual")
    for category_key in CATEGORY_KEYS:
        for network_key, network in (("in_network", "in"), ("out_of_network", "out")):
            benefit = plan.benefit(category_key, network)  # type: ignore[arg-type]
            if benefit is None:
                continue
            prefix = f"benefits.{category_key}.{network_key}"
            if network == "out" and plan.accumulators.out_of_network is None:
                error(prefix, "out-of-network benefit needs [accumulators.out_of_network]")
            if benefit.prior_auth:
                if benefit.auth_initial_units < 1:
                    error(f"{prefix}.auth_initial_units", "prior_auth = true needs a value >= 1")
                if benefit.auth_review_units < 1:
                    error(f"{prefix}.auth_review_units", "prior_auth = true needs a value >= 1")
                if benefit.no_auth is None:
                    error(f"{prefix}.no_auth", 'prior_auth = true needs "deny" or "penalty:N%"')
            else:
                for key in ("auth_initial_units", "auth_review_units", "no_auth"):
                    if f"{prefix}.{key}" in present_keys:
                        error(f"{prefix}.{key}", "is set but prior_auth is not true")
    if plan.parity is not None:
        errors.extend(
            PlanError(file, path, message, value) for path, message, value in parity_errors(plan.parity)
        )
    return errors


def parse_plan(text: str, file: str) -> LoadedPlan:
    """Validate one plan file's text; raise PlanFileError listing every located problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanFileError([PlanError(file, "(syntax)", f"not valid TOML: {exc}")]) from None
    raw, national = _with_national_figures(file, raw)
    try:
        plan = msgspec.convert(raw, Plan, dec_hook=decode_hook)
    except msgspec.ValidationError as exc:
        raise PlanFileError([located(file, raw, exc)]) from None
    present_keys = frozenset(_key_paths(raw))
    errors = _semantic_errors(file, plan, raw, present_keys)
    if errors:
        raise PlanFileError(errors)
    return LoadedPlan(plan=plan, file=file, present_keys=present_keys, national=national)


def _with_national_figures(file: str, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Reference]]:
    """The file with its "national:" references resolved for its effective period (coverage.params)."""
    effective = raw.get("effective")
    if not isinstance(effective, dict):
        return raw, {}  # the plan's own validation names the missing period
    try:  # dates as the file writes them ("2026-01-01"); the plan's own validation names bad ones
        start, end = (dt.date.fromisoformat(str(effective.get(key))) for key in ("start", "end"))
    except ValueError:
        return raw, {}
    resolved, references, problems = resolve_national(raw, start, end)
    if problems:
        raise PlanFileError([PlanError(file, path, message, value) for path, message, value in problems])
    return resolved, references


def load_catalog(plans_dir: Path | str) -> PlanCatalog:
    """Load every `*.toml` in a directory; bad files become errors, good ones still load."""
    directory = Path(plans_dir)
    plans: dict[str, LoadedPlan] = {}
    errors: list[PlanError] = []
    if not directory.is_dir():
        return PlanCatalog({}, [PlanError(str(directory), "(directory)", "is not a directory")])
    for path in sorted(directory.glob("*.toml")):
        file = f"{directory.name}/{path.name}"
        try:
            loaded = parse_plan(path.read_text(encoding="utf-8"), file)
        except PlanFileError as exc:
            errors.extend(exc.errors)
            continue
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(PlanError(file, "(file)", f"cannot be read: {exc}"))
            continue
        duplicate = plans.get(loaded.plan.id)
        if duplicate is not None:
            errors.append(
                PlanError(file, "id", f"duplicates the id of {duplicate.file}", repr(loaded.plan.id))
            )
            continue
        plans[loaded.plan.id] = loaded
    return PlanCatalog(*_checked_renewals(plans, errors))


def renewal_error(plan: Plan, successor: Plan | None) -> str | None:
    """Why `renewed_by` cannot name `successor` (None: it can).

    The successor must start the day after the plan ends, on a plan-year start of the same
    MM-DD, so every plan year is priced by exactly one file and accumulators reset at the switch.
    """
    if successor is None:
        return "names no plan loaded from the catalog"
    if successor.id == plan.id:
        return "names the plan itself"
    if successor.effective.start != plan.effective.end + dt.timedelta(days=1):
        return (
            f"names {successor.id!r}, which starts {successor.effective.start}, not the day after this "
            f"plan's effective end {plan.effective.end}"
        )
    if successor.plan_year_start != plan.plan_year_start:
        return (
            f"names {successor.id!r}, whose plan year starts {successor.plan_year_start}, "
            f"not {plan.plan_year_start}"
        )
    if plan.plan_year_start.plan_year_of(successor.effective.start) != successor.effective.start:
        return f"names {successor.id!r}, which starts mid plan year ({successor.effective.start})"
    return None


def _successor(plans: dict[str, LoadedPlan], plan_id: str) -> Plan | None:
    found = plans.get(plan_id)
    return found.plan if found is not None else None


def _checked_renewals(
    plans: dict[str, LoadedPlan], errors: list[PlanError]
) -> tuple[dict[str, LoadedPlan], list[PlanError]]:
    """Drop plans whose `renewed_by` is unusable (repeatedly: a dropped plan may be a successor)."""
    while True:
        bad = {
            plan_id: reason
            for plan_id, loaded in plans.items()
            if loaded.plan.renewed_by is not None
            and (reason := renewal_error(loaded.plan, _successor(plans, loaded.plan.renewed_by)))
        }
        if not bad:
            return plans, errors
        for plan_id, reason in bad.items():
            loaded = plans.pop(plan_id)
            errors.append(PlanError(loaded.file, "renewed_by", reason, repr(loaded.plan.renewed_by)))
