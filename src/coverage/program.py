"""The treatment program's own data: who it is, what it bills, and what each payer allows.

A program has hundreds of payer plans and will never write a plan file for each; what it has is
its own rates. `programs/sample-program.toml` (illustrative) holds the organization (name, NPI,
TIN, address, phone, contact, locations), per level and category the service codes billed, the
charge per unit and the self-pay (cash) price, and per clearinghouse payer id the network status
and the contracted allowed amount per level and category, with a `default` contract for payers
not listed. `programs/payers.toml` is the payer list staff pick from (clearinghouse payer ids).

Validation is as strict as plan files' (`coverage.plans`): unknown keys, inexact money, a bad
NPI and missing keys are errors naming file, key path and value, and `load_program` returns the
errors instead of raising, so a bad file is reported (log, /health, the Admissions page), never
silently skipped and never a crash at start-up.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct, field

from coverage.eligibility.inquiry import npi_check_digit_ok
from coverage.levels import LEVEL_ORDER, Category, Level, Network, category_key
from coverage.money import Money
from coverage.parity.schema import CATEGORY_KEYS
from coverage.plans import NoAuthPolicy, PlanError, decode_hook, located

PayerCode = Annotated[str, Meta(min_length=1, max_length=80, pattern=r"^\S+$")]
UnitCount = Annotated[int, Meta(ge=1, le=1000)]
Text = Annotated[str, Meta(min_length=1, max_length=200)]
DEFAULT_CONTRACT = "default"


class Address(Struct, forbid_unknown_fields=True, frozen=True):
    street: Text
    city: Text
    state: Annotated[str, Meta(pattern=r"^[A-Z]{2}$")]  # USPS code: the GFE names the state of care
    zip: Annotated[str, Meta(pattern=r"^\d{5}(-\d{4})?$")]

    def __str__(self) -> str:
        return f"{self.street}, {self.city}, {self.state} {self.zip}"


class Location(Address, forbid_unknown_fields=True, frozen=True):
    """A place where care is given."""

    name: Text = "Main location"


class Service(Struct, forbid_unknown_fields=True, frozen=True):
    """What the program bills for one unit of a level and category, and its prices."""

    description: Text  # in plain words, for the Good Faith Estimate
    codes: Annotated[list[Annotated[str, Meta(pattern=r"^[A-Z0-9]{5}$")]], Meta(min_length=1)]  # CPT/HCPCS
    charge_cents: Money = field(name="charge")  # billed to a plan; balance bill and uncovered units
    self_pay_cents: Money = field(name="self_pay")  # the cash price a self-pay client pays
    auth_initial_units: UnitCount  # what a payer that requires authorization usually approves first
    auth_review_units: UnitCount  # ...and per concurrent review
    revenue_code: Annotated[str, Meta(pattern=r"^\d{4}$")] | None = None


class Services(Struct, forbid_unknown_fields=True, frozen=True):
    mh_office: Service
    mh_iop: Service
    mh_php: Service
    sud_office: Service
    sud_iop: Service
    sud_php: Service


CategoryKey = Literal["mh_office", "mh_iop", "mh_php", "sud_office", "sud_iop", "sud_php"]
Rates = dict[CategoryKey, Money]  # allowed amount per unit; a key left out: the default contract's


class Contract(Struct, forbid_unknown_fields=True, frozen=True):
    network: Network | None = None  # None (payers listed only): the default contract's
    allowed: Rates = {}
    no_auth: NoAuthPolicy | None = None  # what the payer does with unauthorized units


class Program(Struct, forbid_unknown_fields=True, frozen=True):
    name: Text
    npi: Annotated[str, Meta(pattern=r"^\d{10}$")]
    tin: Annotated[str, Meta(pattern=r"^\d{2}-\d{7}$")]
    phone: Text
    contact: Text  # who a family calls or writes to, e.g. "Admissions, admissions@example.org"
    address: Address
    locations: Annotated[list[Location], Meta(min_length=1)]
    services: Services
    contracts: dict[PayerCode, Contract]
    separately_scheduled: list[Text] = []  # services not in an estimate, scheduled on their own
    sample_data: bool = False


class Payer(Struct, forbid_unknown_fields=True, frozen=True):
    id: PayerCode  # the clearinghouse's payer id (trading partner service id)
    name: Text


class PayerList(Struct, forbid_unknown_fields=True, frozen=True):
    payers: Annotated[list[Payer], Meta(min_length=1)]
    sample_data: bool = False


class Terms(Struct, frozen=True):
    """The program's rates for one payer, level and category, each with the key path it came from."""

    network: Network
    allowed_cents: int
    service: Service
    no_auth: NoAuthPolicy
    network_path: str
    allowed_path: str
    no_auth_path: str


class LoadedProgram(Struct, frozen=True):
    program: Program
    file: str
    payers: list[Payer]

    def source_of(self, key_path: str) -> str:
        return f"program file {self.file} [{key_path}]"

    def payer_name(self, payer_id: str) -> str | None:
        return next((payer.name for payer in self.payers if payer.id == payer_id), None)

    def service(self, category: Category, level: Level) -> tuple[Service, str]:
        key = category_key(category, level)
        return getattr(self.program.services, key), f"services.{key}"

    def terms(self, payer_id: str | None, category: Category, level: Level) -> Terms:
        """The payer's contract for the level, falling back key by key to the default contract."""
        key = category_key(category, level)
        default = self.program.contracts[DEFAULT_CONTRACT]
        listed = payer_id if payer_id in self.program.contracts else DEFAULT_CONTRACT
        contract = self.program.contracts[listed]

        def pick(value: Any, default_value: Any, name: str) -> tuple[Any, str]:
            if value is not None:
                return value, f"contracts.{listed}.{name}"
            return default_value, f"contracts.{DEFAULT_CONTRACT}.{name}"

        network, network_path = pick(contract.network, default.network, "network")
        allowed, allowed_path = pick(
            contract.allowed.get(key), default.allowed.get(key), f"allowed.{key}"
        )
        no_auth, no_auth_path = pick(contract.no_auth, default.no_auth, "no_auth")
        service, _ = self.service(category, level)
        return Terms(network, allowed, service, no_auth, network_path, allowed_path, no_auth_path)


class ProgramCatalog(Struct, frozen=True):
    """The program file and payer list as loaded: `program` None when either failed (see errors)."""

    program: LoadedProgram | None
    errors: list[PlanError]


def _read(path: Path, label: str) -> tuple[dict[str, Any] | None, list[PlanError]]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), []
    except tomllib.TOMLDecodeError as exc:
        return None, [PlanError(label, "(syntax)", f"not valid TOML: {exc}")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [PlanError(label, "(file)", f"cannot be read: {exc}")]


def _program_errors(
    label: str, program: Program, payers: list[Payer], raw: dict[str, Any]
) -> list[PlanError]:
    """Rules that cross keys or files, which a type cannot express."""
    errors: list[PlanError] = []
    if not npi_check_digit_ok(program.npi):
        errors.append(PlanError(label, "npi", "fails the NPI check digit (typo?)", repr(program.npi)))
    default = program.contracts.get(DEFAULT_CONTRACT)
    if default is None:
        errors.append(
            PlanError(label, f"contracts.{DEFAULT_CONTRACT}", "required: the terms for payers not listed")
        )
    else:
        for name, value in (("network", default.network), ("no_auth", default.no_auth)):
            if value is None:
                errors.append(
                    PlanError(label, f"contracts.{DEFAULT_CONTRACT}.{name}", "required key is missing")
                )
        for key in CATEGORY_KEYS:
            if key not in default.allowed:
                path = f"contracts.{DEFAULT_CONTRACT}.allowed.{key}"
                errors.append(PlanError(label, path, "required: every level and category needs a default"))
    known = {payer.id for payer in payers}
    for payer_id in program.contracts:
        if payer_id != DEFAULT_CONTRACT and payer_id not in known:
            errors.append(PlanError(label, f"contracts.{payer_id}", "names a payer id not in the payer list"))
    for key in CATEGORY_KEYS:
        service: Service = getattr(program.services, key)
        if service.self_pay_cents > service.charge_cents:
            path = f"services.{key}.self_pay"
            errors.append(
                PlanError(label, path, "is more than the charge", repr(raw["services"][key]["self_pay"]))
            )
    return errors


def parse_program(raw: dict[str, Any], label: str, payers: list[Payer]) -> LoadedProgram:
    """Validate a program file's table; raise ProgramFileError listing every located problem."""
    try:
        program = msgspec.convert(raw, Program, dec_hook=decode_hook)
    except msgspec.ValidationError as exc:
        raise ProgramFileError([located(label, raw, exc, root=Program)]) from None
    if errors := _program_errors(label, program, payers, raw):
        raise ProgramFileError(errors)
    return LoadedProgram(program, label, payers)


def parse_payers(raw: dict[str, Any], label: str) -> list[Payer]:
    try:
        listing = msgspec.convert(raw, PayerList)
    except msgspec.ValidationError as exc:
        raise ProgramFileError([located(label, raw, exc, root=PayerList)]) from None
    seen: set[str] = set()
    for index, payer in enumerate(listing.payers):
        if payer.id in seen:
            raise ProgramFileError(
                [PlanError(label, f"payers[{index}].id", "duplicates an earlier id", repr(payer.id))]
            )
        seen.add(payer.id)
    return listing.payers


class ProgramFileError(Exception):
    def __init__(self, errors: list[PlanError]) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = errors


def load_program(program_file: Path | str, payers_file: Path | str) -> ProgramCatalog:
    """Both files validated; every problem is returned (located), nothing raised."""
    paths = Path(program_file), Path(payers_file)
    labels = [f"{path.parent.name}/{path.name}" for path in paths]
    raw_payers, errors = _read(paths[1], labels[1])
    payers: list[Payer] = []
    if raw_payers is not None:
        try:
            payers = parse_payers(raw_payers, labels[1])
        except ProgramFileError as exc:
            errors += exc.errors
    raw_program, read_errors = _read(paths[0], labels[0])
    errors += read_errors
    if raw_program is None or errors:
        return ProgramCatalog(None, errors)
    try:
        return ProgramCatalog(parse_program(raw_program, labels[0], payers), [])
    except ProgramFileError as exc:
        return ProgramCatalog(None, exc.errors)


def service_code_text(service: Service) -> str:
    """ "S9480 (revenue code 0905)": the codes as a claim would carry them."""
    codes = "/".join(service.codes)
    return f"{codes} (revenue code {service.revenue_code})" if service.revenue_code else codes


def level_of(key: str) -> Level:
    """ "mh_iop" -> "iop" (the inverse of levels.category_key)."""
    suffix = re.sub(r"^(mh|sud)_", "", key)
    return next(level for level in LEVEL_ORDER if category_key("mh", level) == f"mh_{suffix}")
