"""`coverage verify`: ask the payer for MH/SUD benefits now and keep the verification record."""

from __future__ import annotations

import argparse
import getpass
import sys

import msgspec

from coverage.eligibility.benefits import Accumulator, LevelBenefits, VerificationResult
from coverage.eligibility.client import EligibilityClient
from coverage.eligibility.config import EligibilityConfig
from coverage.eligibility.inquiry import build_staff_request
from coverage.errors import InputError
from coverage.levels import CATEGORIES, CATEGORY_LABELS, LEVELS, NETWORK_LABELS
from coverage.money import format_usd
from coverage.plans import load_catalog
from coverage.settings import default_plans_dir
from coverage.stores.database import open_database

# EligibilityRequest field -> the option that fills it, so errors name what the user typed.
OPTION_FOR_FIELD = {
    "payer_id": "--payer",
    "member_id": "--member-id",
    "first_name": "--first-name",
    "last_name": "--last-name",
    "date_of_birth": "--dob",
    "date_of_service": "--date-of-service",
    "provider_npi": "--npi",
    "provider_name": "--provider-name",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="verify MH/SUD benefits with the payer (real-time 270/271) and keep the verification record",
        description="Sends a real-time eligibility inquiry through the configured clearinghouse "
        "(COVERAGE_ELIGIBILITY_URL, COVERAGE_ELIGIBILITY_API_KEY), prints the mapped benefits and "
        "stores the verification in COVERAGE_DB. Exit 0 when verified, 1 otherwise (inactive coverage "
        "included).",
    )
    parser.add_argument("--payer", required=True, help="clearinghouse payer id (trading partner service id)")
    parser.add_argument("--member-id", required=True, help="member ID from the insurance card")
    parser.add_argument("--first-name", required=True)
    parser.add_argument("--last-name", required=True)
    parser.add_argument("--dob", required=True, help="subscriber's date of birth, YYYY-MM-DD")
    parser.add_argument("--date-of-service", default=None, help="YYYY-MM-DD (default: today)")
    parser.add_argument("--plan", default=None, help="id of the plan file this verification is for")
    parser.add_argument(
        "--npi", default=None, help="treating organization's NPI (default: COVERAGE_PROVIDER_NPI)"
    )
    parser.add_argument(
        "--provider-name", default=None, help="treating organization's name (default: COVERAGE_PROVIDER_NAME)"
    )
    parser.add_argument("--by", default=None, help="who is running the check (default: your login name)")
    parser.add_argument(
        "--db",
        default=None,
        help="SQLite file or postgresql:// URL (default: COVERAGE_DB or var/coverage.sqlite)",
    )
    parser.add_argument("--plans-dir", default=None, help="where --plan is looked up (default: ./plans)")
    parser.add_argument("--json", action="store_true", help="print the record as JSON")
    parser.set_defaults(handler=run_verify, options=OPTION_FOR_FIELD)


def _performed_by(given: str | None) -> str:
    if given is not None:
        if not given.strip():
            raise InputError.at("--by", "must name who runs the check")
        return given.strip()
    try:
        return getpass.getuser()
    except OSError:
        raise InputError.at("--by", "your login name is unknown; say who runs the check") from None


def run_verify(args: argparse.Namespace) -> int:
    try:
        config = EligibilityConfig.from_env()
    except ValueError as exc:
        raise InputError.at(None, str(exc)) from None
    if args.plan is not None and load_catalog(args.plans_dir or default_plans_dir()).get(args.plan) is None:
        raise InputError.at("--plan", f"no plan file has id {args.plan!r} (see `coverage plans list`)")
    if (args.npi or config.provider_npi) is None:
        raise InputError.at("--npi", "required (or set COVERAGE_PROVIDER_NPI)")
    if (args.provider_name or config.provider_name) is None:
        raise InputError.at("--provider-name", "required (or set COVERAGE_PROVIDER_NAME)")
    performed_by = _performed_by(args.by)
    request = build_staff_request(
            {
                "payer_id": args.payer,
                "member_id": args.member_id,
                "first_name": args.first_name,
                "last_name": args.last_name,
                "date_of_birth": args.dob,
                "date_of_service": args.date_of_service,
                "provider_npi": args.npi,
                "provider_name": args.provider_name,
            },
        config,
    )

    result = EligibilityClient(config).verify(request)
    if result.outcome == "not_configured":
        print(f"coverage: error: {result.message}", file=sys.stderr)
        return 1
    with open_database(args.db) as database:
        record_id = database.verifications.save(request, result, performed_by, args.plan)
    if args.json:
        document = {"id": record_id, **msgspec.structs.asdict(result)}
        document.pop("raw_response")  # stays in the database; the terminal gets the mapping
        print(msgspec.json.format(msgspec.json.encode(document)).decode())
    else:
        print(format_result(record_id, result))
    return 0 if result.outcome == "verified" else 1


def _accumulator_text(label: str, accumulator: Accumulator) -> str:
    parts = []
    if accumulator.total_cents is not None:
        period = f" per {accumulator.period}" if accumulator.period else ""
        parts.append(f"{format_usd(accumulator.total_cents)}{period}")
    if accumulator.remaining_cents is not None:
        parts.append(f"{format_usd(accumulator.remaining_cents)} remaining")
    if accumulator.met_cents is not None:
        parts.append(f"{format_usd(accumulator.met_cents)} met")
    return f"{label} {', '.join(parts)}"


def describe_level(benefits: LevelBenefits) -> str:
    """One line of what the payer stated for a level; unstated fields are left out."""
    parts = []
    if benefits.active is not None:
        parts.append("covered" if benefits.active else "NOT covered")
    if benefits.copay_cents is not None:
        parts.append(f"copay {format_usd(benefits.copay_cents)}")
    if benefits.coinsurance is not None:
        parts.append(f"coinsurance {(benefits.coinsurance * 100).normalize():f}%")
    for label, accumulator in (
        ("deductible", benefits.deductible_individual),
        ("family deductible", benefits.deductible_family),
        ("out-of-pocket max", benefits.oop_individual),
        ("family out-of-pocket max", benefits.oop_family),
    ):
        if accumulator is not None:
            parts.append(_accumulator_text(label, accumulator))
    if benefits.visit_limit is not None:
        parts.append(f"{benefits.visit_limit} visits per plan year")
    if benefits.visits_remaining is not None:
        parts.append(f"{benefits.visits_remaining} visits remaining")
    if benefits.prior_auth is not None:
        parts.append("prior authorization required" if benefits.prior_auth else "no prior authorization")
    return "; ".join(parts) if parts else "nothing stated by the payer"


def format_result(record_id: int, result: VerificationResult) -> str:
    lines = [f"Verification #{record_id}: {result.outcome} - {result.message}"]
    if result.trace_number:
        lines.append(f"Payer trace number: {result.trace_number}")
    benefits = result.benefits
    if benefits is None:
        return "\n".join(lines)
    dates = f"{benefits.coverage_start or '?'} to {benefits.coverage_end or '?'}"
    status = {True: "active", False: "inactive", None: "status not stated"}[benefits.active]
    lines.append(
        f"Payer: {benefits.payer_name or '?'}; plan: {benefits.plan_coverage or '?'}; {dates} ({status})"
    )
    for category in CATEGORIES:
        lines.append("")
        lines.append(CATEGORY_LABELS[category])
        for level_benefits in benefits.levels:
            if level_benefits.category == category:
                where = f"{LEVELS[level_benefits.level].setting}, {NETWORK_LABELS[level_benefits.network]}"
                lines.append(f"  {where:<22} {describe_level(level_benefits)}")
    if benefits.notes:
        lines.append("")
        lines.append("Notes:")
        lines.extend(f"  - {note}" for note in benefits.notes)
    return "\n".join(lines)
