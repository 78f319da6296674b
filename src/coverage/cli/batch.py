"""`coverage batch`: estimates for every client in a CSV (docs/batch.md); progress on stderr."""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from coverage.batch import DEFAULT_CHUNK_ROWS, BatchInputError, BatchResult, run_batch
from coverage.cli import CliArgumentError, whole_number
from coverage.plans import load_catalog
from coverage.settings import default_plans_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="estimate every client in a CSV: weekly / iop / php totals per client (finance)",
        description=(
            "Reads INPUT.csv (client_id, plan_id, network, category, start_date, deductible_met, oop_met; "
            "optional horizon_weeks, pathway, auth_status, family_deductible_met, family_oop_met) and "
            "writes one row per client and scenario. Rows with bad cells go to the errors CSV; the "
            "others complete. See docs/batch.md."
        ),
    )
    parser.add_argument("input", metavar="INPUT.csv", help="client rows, one per line, with a header")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT.csv", help="totals per scenario")
    parser.add_argument(
        "--errors", metavar="ERRORS.csv", help="rejected cells (default: OUTPUT with .errors.csv)"
    )
    parser.add_argument("--monthly", metavar="MONTHLY.csv", help="also write the per-month table")
    parser.add_argument("--plans-dir", default=None)
    parser.add_argument(
        "--chunk-rows",
        type=whole_number,
        default=DEFAULT_CHUNK_ROWS,
        help="rows priced at a time (bounds memory)",
    )
    parser.set_defaults(handler=run)


def errors_path(output: Path) -> Path:
    """Where rejected cells go when --errors is not given: next to the output."""
    return output.with_name(f"{output.stem}.errors.csv")


def _open(stack: ExitStack, argument: str, path: Path) -> IO[bytes]:
    try:
        return stack.enter_context(path.open("wb"))
    except OSError as exc:
        raise CliArgumentError(f"{argument}: cannot write {path}: {exc.strerror}") from None


def _check_distinct(source: Path, written: list[tuple[str, Path]]) -> None:
    """Each output its own file, none of them the input: two handles on one file interleave."""
    claimed: dict[Path, str] = {}
    for argument, path in written:
        resolved = path.resolve()
        if resolved == source.resolve():
            raise CliArgumentError(f"{argument}: would overwrite the input {source}")
        if resolved in claimed:
            raise CliArgumentError(f"{argument}: is the same file as {claimed[resolved]} ({path})")
        claimed[resolved] = argument


class _Progress:
    """Rows done / total on stderr: one updating line on a terminal, else a line per chunk."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._started = time.perf_counter()
        self._tty = stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.perf_counter() - self._started
        line = f"batch: {done:,} / {total:,} rows ({done / max(total, 1):.0%}, {elapsed:.1f} s)"
        self._stream.write(f"\r{line}" if self._tty else f"{line}\n")
        self._stream.flush()

    def finish(self) -> None:
        if self._tty:
            self._stream.write("\n")


def _summary(result: BatchResult, output: Path, errors: Path, monthly: Path | None) -> str:
    lines = [
        f"batch: {result.rows:,} rows read; {result.priced_rows:,} priced into {result.output_rows:,} "
        f"scenario rows in {output}",
    ]
    if monthly is not None:
        lines.append(f"batch: {result.monthly_rows:,} month rows in {monthly}")
    if result.error_rows:
        lines.append(f"batch: {result.error_rows:,} rows rejected; why is in {errors}")
    else:
        lines.append(f"batch: no rows rejected ({errors} has the header only)")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    source = Path(args.input)
    if not source.is_file():
        raise CliArgumentError(f"INPUT.csv: no such file {source}")
    if args.chunk_rows < 1:
        raise CliArgumentError("--chunk-rows: must be at least 1")
    output = Path(args.output)
    errors = Path(args.errors) if args.errors else errors_path(output)
    monthly = Path(args.monthly) if args.monthly else None
    written = [("-o/--output", output), ("--errors", errors), *([("--monthly", monthly)] if monthly else [])]
    _check_distinct(source, written)
    catalog = load_catalog(args.plans_dir or default_plans_dir())
    for error in catalog.errors:
        print(f"coverage batch: warning: plan file not loaded: {error}", file=sys.stderr)
    progress = _Progress(sys.stderr)
    with ExitStack() as stack:
        handles = {argument: _open(stack, argument, path) for argument, path in written}
        try:
            result = run_batch(
                source,
                handles["-o/--output"],
                handles["--errors"],
                catalog=catalog,
                monthly=handles.get("--monthly"),
                chunk_rows=args.chunk_rows,
                progress=progress,
            )
        except BatchInputError as exc:
            raise CliArgumentError(f"INPUT.csv: {exc}") from None
        finally:
            progress.finish()
    sys.stderr.write(_summary(result, output, errors, monthly))
    return 0
