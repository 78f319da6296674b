"""`coverage estimate`: the weekly / IOP / PHP comparison (or one custom pathway) for a plan."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import msgspec

from coverage.cli.common import catalog_of, plan_command, program_of, unknown_plan_option, whole_number
from coverage.dates import parse_date
from coverage.errors import InputError, NotFound
from coverage.estimate import Estimate, EstimateRequest, estimate
from coverage.money import format_usd, parse_money
from coverage.pricing.parts import ALLOWED, CLIENT_PARTS, MEMBER_COST, PLAN_PAID
from coverage.stores.database import open_database
from coverage.validation import field_errors

PLAN_HELP = (
    "plan id (see `coverage plans list`); leave it out to price --verification-id alone (or --self-pay) "
    "at the program file's rates"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = plan_command(
        subparsers,
        "estimate",
        "estimate client cost: weekly therapy vs IOP vs PHP",
        "Without --pathway: the standard weekly / iop / php comparison over the horizon. Exit 1 when a "
        "value the payer did not state is missing (named; give it with --value KEY=VALUE).",
        PLAN_HELP,
    )
    add_request_options(parser)
    parser.add_argument("--json", action="store_true", help="print the estimate as JSON")
    parser.set_defaults(handler=run, options=OPTION_FOR_FIELD)


def add_request_options(parser: argparse.ArgumentParser) -> None:
    """The options that make an EstimateRequest (shared with `coverage gfe`)."""
    parser.add_argument("--start", required=True, help="first day of care, YYYY-MM-DD")
    parser.add_argument("--network", choices=("in", "out"), help="default: in (a plan file); the program's")
    parser.add_argument("--category", choices=("mh", "sud"), default="mh")
    parser.add_argument(
        "--deductible-met", help="dollars met this plan year, e.g. 250.00 (default: verified amount, else 0)"
    )
    parser.add_argument(
        "--oop-met",
        help="out-of-pocket dollars met this plan year (default: verified amount, else deductible met)",
    )
    parser.add_argument(
        "--family-deductible-met", help="family deductible dollars met (default: verified, else the client's)"
    )
    parser.add_argument(
        "--family-oop-met", help="family out-of-pocket dollars met (default: verified, else derived)"
    )
    parser.add_argument("--horizon-weeks", type=whole_number, default=26)
    parser.add_argument("--pathway", help='custom phases, e.g. "php:3,iop:6,op:17" or "iop:8x4@3h"')
    parser.add_argument(
        "--auth",
        choices=("approved", "initial_only", "none"),
        default="approved",
        help="authorization assumed",
    )
    parser.add_argument("--recommended-level", choices=("op", "iop", "php", "refer_higher"))
    parser.add_argument(
        "--verification-id",
        type=whole_number,
        help="a stored verification (coverage verify): overrides the plan's values, or prices alone",
    )
    parser.add_argument(
        "--self-pay", action="store_true", help="no insurance: every unit at the program's self-pay price"
    )
    parser.add_argument(
        "--value",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a value the payer did not state, entered by staff, e.g. mh_iop.coinsurance=20%% "
        "or oop_max_individual=3000.00 (repeatable)",
    )


def _dollars(argument: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_money(text)
    except (TypeError, ValueError) as exc:
        raise InputError.at(argument, str(exc)) from None


def _date(argument: str, text: str) -> dt.date:
    try:
        return parse_date(text)
    except ValueError as exc:
        raise InputError.at(argument, str(exc)) from None


def _entered(values: list[str]) -> dict[str, str]:
    entered: dict[str, str] = {}
    for text in values:
        key, equals, value = text.partition("=")
        if not equals or not key.strip():
            message = f"must be KEY=VALUE such as mh_iop.coinsurance=20%, got {text[:40]!r}"
            raise InputError.at("--value", message)
        entered[key.strip()] = value.strip()
    return entered


def request_from_args(args: argparse.Namespace) -> EstimateRequest:
    fields = {
        "plan_id": args.plan,
        "start_date": _date("--start", args.start),
        "network": args.network,
        "category": args.category,
        "deductible_met_cents": _dollars("--deductible-met", args.deductible_met),
        "oop_met_cents": _dollars("--oop-met", args.oop_met),
        "family_deductible_met_cents": _dollars("--family-deductible-met", args.family_deductible_met),
        "family_oop_met_cents": _dollars("--family-oop-met", args.family_oop_met),
        "horizon_weeks": args.horizon_weeks,
        "pathway": args.pathway,
        "auth_status": args.auth,
        "recommended_level": args.recommended_level,
        "verification_id": args.verification_id,
        "self_pay": args.self_pay,
        "entered": _entered(args.value),
    }
    if errors := field_errors(fields, EstimateRequest):  # the rule in words, not msgspec's types
        first = errors[0]
        raise InputError.at((first.field or "").split(".")[0] or None, first.message)
    return msgspec.convert(fields, EstimateRequest, from_attributes=False)


OPTION_FOR_FIELD = {  # request field -> the option that fills it, so errors name what was typed
    "horizon_weeks": "--horizon-weeks",
    "deductible_met_cents": "--deductible-met",
    "oop_met_cents": "--oop-met",
    "family_deductible_met_cents": "--family-deductible-met",
    "family_oop_met_cents": "--family-oop-met",
    "start_date": "--start",
    "plan_id": "--plan",
    "pathway": "--pathway",
    "verification_id": "--verification-id",
    "self_pay": "--self-pay",
    "entered": "--value",
}


def estimate_from_args(args: argparse.Namespace) -> tuple[EstimateRequest, Estimate]:
    """The request the options describe, priced with the plan file or the program file."""
    request = request_from_args(args)
    catalog = catalog_of(args)
    record = None
    if request.verification_id is not None:
        with open_database() as database:
            record = database.verifications.get(request.verification_id)
    program = program_of() if request.plan_id is None else None
    try:
        return request, estimate(catalog, request, record, program)
    except NotFound as exc:
        if exc.field != "plan_id":
            raise
        raise unknown_plan_option(args, catalog) from None


def run(args: argparse.Namespace) -> int:
    _, result = estimate_from_args(args)
    if args.json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(result)).decode() + "\n")
    else:
        sys.stdout.write(render_text(result))
    if result.missing:
        needs = "; ".join(f"{value.message} (--value {value.key}=...)" for value in result.missing)
        print(f"coverage: cannot estimate yet: {needs}", file=sys.stderr)
        return 1
    return 0


_LABEL_WIDTH = max(len(part.label) for part in CLIENT_PARTS) + 4
_NETWORK_WORDS = {"in": "in-network", "out": "out-of-network"}


def render_text(result: Estimate) -> str:
    """A readable comparison: client cost per month, one column per scenario, then details."""
    lines = [
        f"{result.plan_name} ({result.plan_id}), {_NETWORK_WORDS[result.network]}, "
        f"{result.category.upper()}, from {result.start_date}, {result.horizon_weeks} weeks"
        + (" [illustrative sample plan]" if result.sample_data else ""),
        "",
    ]
    names = [scenario.name + (" *" if scenario.recommended else "") for scenario in result.scenarios]
    months = sorted({month.month for scenario in result.scenarios for month in scenario.months})
    cost = {
        (scenario.name, month.month): month.member_cost_cents
        for scenario in result.scenarios
        for month in scenario.months
    }
    lines.append("Client cost by month".ljust(_LABEL_WIDTH) + "".join(name.rjust(14) for name in names))
    for month in months:
        lines.append(
            month.ljust(_LABEL_WIDTH)
            + "".join(format_usd(cost.get((s.name, month), 0)).rjust(14) for s in result.scenarios)
        )
    for part in (MEMBER_COST, *CLIENT_PARTS, PLAN_PAID, ALLOWED):
        label = f"  {part.label}" if part in CLIENT_PARTS else part.label.capitalize()
        lines.append(
            label.ljust(_LABEL_WIDTH)
            + "".join(format_usd(getattr(s.totals, f"{part.name}_cents")).rjust(14) for s in result.scenarios)
        )
    units = "".join(str(s.totals.units).rjust(14) for s in result.scenarios)
    lines.append("Units".ljust(_LABEL_WIDTH) + units)
    for scenario in result.scenarios:
        lines += ["", f"{scenario.name}: {scenario.label} ({scenario.pathway})"]
        lines += [f"  - {phase}" for phase in scenario.phases]
        for need in scenario.authorizations:
            reviews = ", ".join(str(day) for day in need.review_dates) or "none"
            lines.append(
                f"  prior auth {need.category_key}: {need.initial_units} units initially from "
                f"{need.first_unit_date}; reviews {reviews}; {need.units_at_risk} units at risk "
                f"(no auth: {need.no_auth_policy})"
            )
        if scenario.if_reviews_denied is not None:
            lines.append(
                "  if no review is approved: client cost "
                f"{format_usd(scenario.if_reviews_denied.member_cost_cents)}"
            )
        for reminder in scenario.certifications:
            lines.append(f"  {reminder.kind} ({reminder.level}) due {reminder.date}")
        lines += [f"  [{flag.severity}] {flag.message}" for flag in scenario.flags]
    for unpriced in result.unpriced:
        needs = "; ".join(unpriced.missing)
        lines += ["", f"{unpriced.name}: {unpriced.label}: cannot estimate yet: {needs}"]
    lines += ["", "Assumptions:"] + [f"  - {line}" for line in result.assumptions]
    lines += ["", "Sources:"] + [f"  {s.name} = {s.value}: {s.source}" for s in result.sources]
    return "\n".join(lines) + "\n"
