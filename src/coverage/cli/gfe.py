"""`coverage gfe`: issue a Good Faith Estimate (45 CFR 149.610) for the self-pay units of an estimate,
keep it in the database (who, when, the exact content) and print its elements."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys

import msgspec

from coverage.cli.common import plan_command, program_of
from coverage.cli.estimate import OPTION_FOR_FIELD, PLAN_HELP, add_request_options, estimate_from_args
from coverage.dates import parse_date
from coverage.eligibility.record import VerificationRecord
from coverage.errors import InputError
from coverage.gfe import GoodFaithEstimate, Patient, good_faith_estimate
from coverage.money import format_usd
from coverage.stores.database import open_database

DESCRIPTION = (
    "Self-pay clients (--self-pay, with --first-name/--last-name/--dob) or the units an estimate prices "
    "at the self-pay rate (--verification-id N, the patient from its inquiry)."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    summary = "issue a Good Faith Estimate for self-pay care and keep it"
    parser = plan_command(subparsers, "gfe", summary, DESCRIPTION, PLAN_HELP)
    add_request_options(parser)
    parser.add_argument("--scenario", default="iop", help="weekly | iop | php | custom (default: iop)")
    parser.add_argument(
        "--diagnosis", action="append", default=[], help="ICD-10-CM code, e.g. F33.1 (repeatable)"
    )
    parser.add_argument("--first-name", help="patient's first name (self-pay)")
    parser.add_argument("--last-name", help="patient's last name (self-pay)")
    parser.add_argument("--dob", help="patient's date of birth, YYYY-MM-DD (self-pay)")
    parser.add_argument("--by", default=None, help="who issues it (default: the login name)")
    parser.add_argument("--json", action="store_true", help="print the issued GFE as JSON")
    parser.set_defaults(handler=run, options=OPTION_FOR_FIELD | {"diagnosis_codes": "--diagnosis"})


def _patient(args: argparse.Namespace, record: VerificationRecord | None) -> Patient:
    """From the verification's inquiry, else from the options (self-pay)."""
    if record is not None:
        inquiry = record.request
        return Patient(f"{inquiry.first_name} {inquiry.last_name}", inquiry.date_of_birth)
    name = " ".join(part for part in (args.first_name, args.last_name) if part).strip()
    if not name:
        raise InputError.at("--first-name", "the patient's name is required on a Good Faith Estimate")
    try:
        return Patient(name, parse_date(args.dob or ""))
    except ValueError as exc:
        raise InputError.at("--dob", str(exc)) from None


def run(args: argparse.Namespace) -> int:
    request, result = estimate_from_args(args)
    by = (args.by or getpass.getuser()).strip()
    with open_database() as database:
        record = database.verifications.get(request.verification_id) if request.verification_id else None
        patient = _patient(args, record)
        content = good_faith_estimate(program_of(), result, args.scenario, patient, args.diagnosis)
        gfe_id = database.gfes.save(content, by, verification_id=request.verification_id)
        issued = database.gfes.get(gfe_id)
    assert issued is not None  # just saved
    if args.json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(issued)).decode() + "\n")
    else:
        sys.stdout.write(render_text(gfe_id, issued.issued_at, by, content))
    return 0


def render_text(gfe_id: int, issued_at: dt.datetime, by: str, gfe: GoodFaithEstimate) -> str:
    lines = [
        f"Good Faith Estimate #{gfe_id} (45 CFR 149.610), "
        f"issued {issued_at.astimezone():%Y-%m-%d %H:%M} by {by}",
        f"Patient: {gfe.patient.name}, born {gfe.patient.date_of_birth}",
        f"Primary service: {gfe.primary_service}; scheduled {gfe.scheduled_date or 'not yet'}",
        f"Period of care: {gfe.period_start} to {gfe.period_end}",
        f"Diagnosis codes: {', '.join(gfe.diagnosis_codes) or 'none given'}",
        f"Based on: {gfe.basis}",
    ]
    for provider in gfe.providers:
        lines += [
            "",
            f"{provider.name} ({provider.role}); NPI {provider.npi}; TIN {provider.tin}",
            f"  location: {provider.location}; state {provider.state}",
        ]
        for item in provider.items:
            lines.append(
                f"  {item.service_code:<28} {item.units:>4} x {format_usd(item.charge_per_unit_cents):>10}"
                f" = {format_usd(item.total_cents):>12}  {item.service}"
            )
        lines.append(f"  total {format_usd(provider.total_cents)}")
    lines += ["", f"Total expected charges: {format_usd(gfe.total_cents)}", "", "Scheduled separately:"]
    lines += [f"  - {line}" for line in gfe.separately_scheduled] or ["  none"]
    lines += ["", "Disclaimers:"] + [f"  - {line}" for line in gfe.disclaimers]
    lines += ["", f"Questions: {gfe.contact}"]
    return "\n".join(lines) + "\n"
