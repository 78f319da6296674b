"""`coverage recommend`: the screening rubric's recommended level of care, from flags or JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from coverage.errors import InputError
from coverage.screening.answers import (
    SCREENING_ALLOWED,
    SCREENING_DISCLAIMER,
    SCREENING_QUESTIONS,
    ScreeningAnswers,
    parse_screening_answers,
)
from coverage.screening.rubric import BASIS_NAMES, LevelRecommendation, recommend_level, recommendation_label


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "recommend",
        help="recommend a level of care (op / iop / php / refer_higher) from screening answers",
        description=f"{SCREENING_DISCLAIMER} Every screening answer is required, from flags or --json.",
    )
    for field in msgspec.structs.fields(ScreeningAnswers):
        parser.add_argument(
            _flag(field.name),
            dest=field.name,
            metavar="ANSWER",
            help=f"{SCREENING_QUESTIONS[field.name]} [{SCREENING_ALLOWED[field.name]}]",
        )
    parser.add_argument(
        "--json",
        dest="json_file",
        metavar="FILE|-",
        help="a JSON object of answers keyed by field name (- reads stdin); flags override its values",
    )
    parser.add_argument("--output", choices=("text", "json"), default="text")
    parser.set_defaults(handler=run)


def _read_json_answers(source: str) -> dict[str, object]:
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        answers = msgspec.json.decode(raw)
    except OSError as exc:
        raise InputError.at("--json", f"cannot read {source}: {exc.strerror}") from None
    except msgspec.DecodeError as exc:
        raise InputError.at("--json", f"{source} is not valid JSON: {exc}") from None
    if not isinstance(answers, dict):
        shown = "stdin" if source == "-" else source
        raise InputError.at("--json", f"{shown} must hold a JSON object of screening answers")
    return answers


def answers_from_args(args: argparse.Namespace) -> ScreeningAnswers:
    """JSON answers (if any) overlaid with the flags given; errors name the flag or JSON key.

    Flag values are text, so whole numbers are read from text, in --json too.
    """
    from_json = _read_json_answers(args.json_file) if args.json_file else {}
    from_flags = {name: getattr(args, name) for name in SCREENING_ALLOWED if getattr(args, name) is not None}
    try:
        return parse_screening_answers(from_json | from_flags, from_text=True)
    except InputError as exc:
        field = exc.field or "answers"
        if field in from_json and field not in from_flags:
            raise InputError.at(f"{field} (in --json)", exc.message) from None
        raise InputError.at(_flag(field) if field in SCREENING_ALLOWED else field, exc.message) from None


def format_recommendation(recommendation: LevelRecommendation) -> str:
    lines = [f"Recommended: {recommendation.label}  (basis: {BASIS_NAMES[recommendation.basis]})"]
    if recommendation.crisis_resources:
        lines.append(f"CRISIS RESOURCES: {recommendation.crisis_resources}")
    lines.append("Why:")
    lines.extend(f"  - {reason}" for reason in recommendation.reasons)
    lines.append("Other levels considered:")
    lines.extend(
        f"  - {recommendation_label(alternative.level)}: {alternative.why}"
        for alternative in recommendation.alternatives_considered
    )
    lines.append(f"Note: {recommendation.disclaimer}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    recommendation = recommend_level(answers_from_args(args))
    if args.output == "json":
        print(msgspec.json.format(msgspec.json.encode(recommendation)).decode())
    else:
        print(format_recommendation(recommendation))
    return 0
