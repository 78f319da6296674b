"""`coverage batch`: estimates for every client in a CSV (docs/batch.md); progress on stderr."""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING

from coverage.cli.common import whole_number
from coverage.errors import InputError
from coverage.plans import load_catalog
from coverage.settings import DEFAULT_CHUNK_ROWS, default_plans_dir

if TYPE_CHECKING:
    from coverage.batch import BatchResult


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


class _Outputs:
    """All-or-nothing output files: each is written as a hidden temporary file in its own folder
    and renamed over its final name only when the whole run succeeded.

    A refused run, a failure or a kill never leaves a file (truncated or not) under a final
    name, and an existing file there stays as it was; rename within one folder is atomic.
    """

    def __init__(self, stack: ExitStack, written: list[tuple[str, Path]]) -> None:
        self._parts: list[tuple[str, Path, Path]] = []
        stack.callback(self._discard)
        self.handles: dict[str, IO[bytes]] = {}
        for argument, path in written:
            try:
                handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by the stack)
                    dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
                )
            except OSError as exc:
                raise InputError.at(argument, f"cannot write {path}: {exc.strerror}") from None
            self._parts.append((argument, path, Path(handle.name)))
            self.handles[argument] = stack.enter_context(handle)

    def commit(self) -> None:
        """Flush every file to disk, then put each under its final name."""
        for argument, path, _ in self._parts:
            handle = self.handles[argument]
            try:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
            except OSError as exc:
                raise InputError.at(argument, f"cannot write {path}: {exc.strerror}") from None
        for _, path, part in self._parts:
            part.replace(path)
        self._parts = []

    def _discard(self) -> None:
        for _, _, part in self._parts:
            part.unlink(missing_ok=True)


def _check_distinct(source: Path, written: list[tuple[str, Path]]) -> None:
    """Each output its own file, none of them the input: two handles on one file interleave."""
    claimed: dict[Path, str] = {}
    for argument, path in written:
        resolved = path.resolve()
        if resolved == source.resolve():
            raise InputError.at(argument, f"would overwrite the input {source}")
        if resolved in claimed:
            raise InputError.at(argument, f"is the same file as {claimed[resolved]} ({path})")
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
        raise InputError.at("INPUT.csv", f"no such file {source}")
    if args.chunk_rows < 1:
        raise InputError.at("--chunk-rows", "must be at least 1")
    output = Path(args.output)
    errors = Path(args.errors) if args.errors else errors_path(output)
    monthly = Path(args.monthly) if args.monthly else None
    written = [("-o/--output", output), ("--errors", errors), *([("--monthly", monthly)] if monthly else [])]
    _check_distinct(source, written)
    from coverage.batch import run_batch  # polars and the compiled loop: only this command loads them

    catalog = load_catalog(args.plans_dir or default_plans_dir())
    for error in catalog.errors:
        print(f"coverage batch: warning: plan file not loaded: {error}", file=sys.stderr)
    progress = _Progress(sys.stderr)
    with ExitStack() as stack:
        outputs = _Outputs(stack, written)
        handles = outputs.handles
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
        except InputError as exc:  # the file as a whole: unreadable, or a column missing
            raise InputError.at("INPUT.csv", str(exc)) from None
        except OSError as exc:  # a full disk, most often: one line, and no output under its name
            where = f" {exc.filename}" if exc.filename else ""
            # polars re-raises a failed write without errno, as "[Errno 28] No space left on device"
            reason = os.strerror(exc.errno) if exc.errno else re.sub(r"^\[Errno \d+\] ", "", str(exc))
            raise InputError.at(None, f"cannot write the output{where}: {reason}") from None
        finally:
            progress.finish()
        outputs.commit()
    sys.stderr.write(_summary(result, output, errors, monthly))
    return 0
