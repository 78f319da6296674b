"""Benchmark `coverage batch` (a script, not a timed test).

speed:  generate N client rows (default 1,000,000) over every bundled plan, time `coverage batch`
        end to end in a subprocess (read CSV, price weekly / iop / php for each row, write CSV),
        then the floor: a subprocess that only imports polars, reads the same CSV the same way and
        writes the same output rows (loaded before its clock runs), and prints batch / floor.
        Also times the scalar engine: estimate() on a sample of the same rows, and one call for
        the standard comparison (acme PPO, 26 weeks) run-based and unit by unit (the reference).
memory: generate N rows (default 10,000,000) and report the batch subprocess's peak RSS.
scalar: only the standard comparison per call, run-based and unit by unit (seconds, no files).
cells:  only the cell checks (BatchJob.check, the stage before pricing) on the speed input's
        chunks, read beforehand: seconds summed over the chunks, the best of 5 rounds.

    python scripts/bench_batch.py                      # both
    python scripts/bench_batch.py speed --rows 1000000
    python scripts/bench_batch.py memory --rows 10000000
    python scripts/bench_batch.py scalar
    python scripts/bench_batch.py cells --rows 1000000

Generated inputs and outputs go to bench-out/ (git-ignored) and are reused when the row count and
seed match. Targets: batch <= 1.6x the read+write floor for 1,000,000 rows, < 1 GB peak RSS for
10,000,000 rows (issue 15); the run-based estimate() >= 5x faster than unit by unit.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests/ helpers
from tests.unit_by_unit import estimates_unit_by_unit

from coverage.batch import BatchJob, chunks, dollars, input_columns
from coverage.estimate import EstimateRequest, estimate
from coverage.money import parse_money
from coverage.plans import PlanCatalog, load_catalog
from coverage.settings import DEFAULT_CHUNK_ROWS, default_plans_dir

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench-out"
GENERATE_BLOCK = 1_000_000


def _options(catalog: PlanCatalog) -> pl.DataFrame:
    """(plan, network) pairs a client can have, in-network four times as likely, with the limits
    that keep the generated accumulators valid."""
    rows = []
    for plan_id, loaded in sorted(catalog.plans.items()):
        plan = loaded.plan
        for network, weight in (("in", 4), ("out", 1)):
            limits = plan.network_accumulators(network)  # type: ignore[arg-type]
            if limits is None:
                continue
            deductible = limits.deductible_individual_cents
            oop = limits.oop_max_individual_cents or limits.oop_max_family_cents or deductible + 500_000
            rows += [
                {
                    "plan_id": plan_id,
                    "network": network,
                    "effective_start": plan.effective.start,
                    "span_days": (plan.effective.end - plan.effective.start).days,
                    "deductible_limit": deductible,
                    "oop_limit": oop,
                }
            ] * weight
    return pl.DataFrame(rows).with_row_index("option")


def generate(path: Path, rows: int, seed: int, catalog: PlanCatalog) -> None:
    """Write `rows` valid client rows (pseudo-random but reproducible: hashes of the row number)."""
    options = _options(catalog)
    with path.open("wb") as handle:
        for block_start in range(0, rows, GENERATE_BLOCK):
            count = min(GENERATE_BLOCK, rows - block_start)
            number = pl.int_range(block_start, block_start + count, dtype=pl.UInt64, eager=True)

            def draw(salt: int, number: pl.Series = number) -> pl.Expr:
                return pl.lit(number).hash(seed * 100 + salt)

            block = (
                pl.select(
                    row=pl.lit(number),
                    option=(draw(1) % options.height).cast(pl.UInt32),
                    category_draw=draw(2) % 2,
                    day_draw=draw(3),
                    deductible_draw=draw(4),
                    oop_draw=draw(5),
                )
                .join(options, on="option", maintain_order="left")
                .with_columns(
                    deductible=(pl.col("deductible_draw") % (pl.col("deductible_limit") + 1)).cast(pl.Int64)
                )
                .select(
                    client_id=pl.format("C{}", pl.col("row") + 1),
                    plan_id="plan_id",
                    network="network",
                    category=pl.when(pl.col("category_draw") == 0)
                    .then(pl.lit("mh"))
                    .otherwise(pl.lit("sud")),
                    start_date=pl.col("effective_start")
                    + pl.duration(days=pl.col("day_draw") % (pl.col("span_days") + 1)),
                    deductible_met=dollars(pl.col("deductible")),
                    oop_met=dollars(
                        pl.col("deductible")
                        + (pl.col("oop_draw") % (pl.col("oop_limit") - pl.col("deductible") + 1)).cast(
                            pl.Int64
                        )
                    ),
                )
            )
            block.write_csv(handle, include_header=block_start == 0)


def input_file(rows: int, seed: int, catalog: PlanCatalog) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"clients-{rows}-seed{seed}.csv"
    if not path.exists():
        started = time.perf_counter()
        generate(path, rows, seed, catalog)
        print(
            f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s"
        )
    return path


def scalar_rows_per_second(path: Path, sample: int, catalog: PlanCatalog) -> float:
    """The scalar engine on the first `sample` rows: parse each row and call estimate(), as a loop would."""
    with path.open(newline="") as handle:
        rows = list(itertools.islice(csv.DictReader(handle), sample))
    started = time.perf_counter()
    for row in rows:
        request = EstimateRequest(
            plan_id=row["plan_id"],
            start_date=dt.date.fromisoformat(row["start_date"]),
            network=row["network"],  # type: ignore[arg-type]
            category=row["category"],  # type: ignore[arg-type]
            deductible_met_cents=parse_money(row["deductible_met"]),
            oop_met_cents=parse_money(row["oop_met"]),
        )
        estimate(catalog, request)
    return len(rows) / (time.perf_counter() - started)


def scalar_engines(catalog: PlanCatalog, calls: int = 200) -> tuple[float, float]:
    """Seconds per estimate() call for the standard comparison, run-based and unit by unit
    (each the best of several rounds, taken in turns, so a busy machine skews both alike)."""
    request = EstimateRequest(plan_id="acme-ppo-gold-2026", start_date=dt.date(2026, 3, 2))

    def per_call(count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            estimate(catalog, request)
        return (time.perf_counter() - started) / count

    new = old = float("inf")
    for _ in range(7):
        new = min(new, per_call(calls))
        with estimates_unit_by_unit():
            old = min(old, per_call(max(1, calls // 5)))
    return new, old


def floor_subprocess(source: Path, result: Path) -> dict[str, float]:
    """Seconds to import polars, read `source` and write `result`'s rows, in a fresh process."""
    target = OUT / "floor-out.csv"
    command = [sys.executable, str(ROOT / "scripts" / "io_floor.py"), str(source), str(result), str(target)]
    output = subprocess.run([*command, str(DEFAULT_CHUNK_ROWS)], check=True, capture_output=True, text=True)
    target.unlink()
    return json.loads(output.stdout)


def run_batch_subprocess(source: Path, label: str) -> tuple[list[str], float, float]:
    """Run `coverage batch` in a child process; its command, wall seconds and peak RSS in MB."""
    output = OUT / f"{label}-out.csv"
    coverage = shutil.which("coverage", path=str(Path(sys.executable).parent)) or "coverage"
    command = [coverage, "batch", str(source), "-o", str(output)]
    time_binary = shutil.which("time") or "/usr/bin/time"
    timing = OUT / f"{label}-time.txt"
    if Path(time_binary).exists():
        measured = [time_binary, "-f", "%e %M", "-o", str(timing), *command]
        subprocess.run(measured, check=True, stderr=subprocess.DEVNULL)
        seconds, max_rss_kb = timing.read_text().split()[-2:]
        return command, float(seconds), int(max_rss_kb) / 1024
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        print("note: an earlier child had a higher peak; RSS below is an upper bound")
    return command, seconds, peak / 1024


def speed(rows: int, seed: int, sample: int, catalog: PlanCatalog, repeat: int) -> None:
    source = input_file(rows, seed, catalog)
    scalar_rate = scalar_rows_per_second(source, sample, catalog)
    new, old = scalar_engines(catalog)
    print_scalar(new, old)
    # Batch and floor take turns, each after os.sync(): a run's 300 MB of output is otherwise still
    # being written back to disk while the next one runs, which skews whichever runs second.
    batches: list[tuple[float, float]] = []
    floors: list[dict[str, float]] = []
    for _ in range(repeat):
        os.sync()
        command, seconds, peak_mb = run_batch_subprocess(source, f"speed-{rows}")
        batches.append((seconds, peak_mb))
        os.sync()
        floors.append(floor_subprocess(source, OUT / f"speed-{rows}-out.csv"))
    seconds, peak_mb = min(batches)
    floor = min(floors, key=lambda steps: sum(steps.values()))
    floor_seconds = sum(floor.values())
    batch_rate = rows / seconds
    print(f"\nspeed, {rows:,} rows x 3 scenarios, {os.cpu_count()} cores, best of {repeat} turns each")
    print(f"  command: {' '.join(command)}")
    print(f"  batch end to end: {seconds:.2f} s  ({batch_rate:,.0f} rows/s, peak RSS {peak_mb:,.0f} MB)")
    print(f"    every turn: {', '.join(f'{turn:.2f}' for turn, _ in batches)} s")
    print(
        f"  read+write floor: {floor_seconds:.2f} s (import polars {floor['import']:.2f} s, read the CSV "
        f"{floor['read']:.2f} s, write the same output {floor['write']:.2f} s)"
    )
    print(f"    every turn: {', '.join(f'{sum(turn.values()):.2f}' for turn in floors)} s")
    speedup = batch_rate / scalar_rate
    print(f"  scalar estimate() on {sample} rows: {scalar_rate:,.0f} rows/s (the batch: {speedup:,.0f}x)")
    print(f"  ratios: batch/floor {seconds / floor_seconds:.2f}x (goal <= 1.6x)")


def print_scalar(new: float, old: float) -> None:
    print(
        f"  scalar engine, standard comparison per call: run-based {new * 1000:.3f} ms, "
        f"unit by unit {old * 1000:.3f} ms"
    )
    print(f"  ratio: scalar new/old {new / old:.3f} = {old / new:.1f}x faster (goal >= 5x, <= 0.4 ms)")


def memory(rows: int, seed: int, catalog: PlanCatalog) -> None:
    source = input_file(rows, seed, catalog)
    command, seconds, peak_mb = run_batch_subprocess(source, f"memory-{rows}")
    print(f"\nmemory, {rows:,} rows x 3 scenarios streamed")
    print(f"  command: {' '.join(command)}")
    print(f"  peak RSS: {peak_mb:,.0f} MB in {seconds:.1f} s   (target: < 1024 MB)")


def cells(rows: int, seed: int, catalog: PlanCatalog, rounds: int = 5) -> None:
    source = input_file(rows, seed, catalog)
    job = BatchJob(catalog, by_month=False)
    read = list(chunks(source, input_columns(source), DEFAULT_CHUNK_ROWS))
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        fine = sum(job.check(chunk).valid.height for chunk in read)
        best = min(best, time.perf_counter() - started)
    print(f"\ncells, {rows:,} rows in {len(read)} chunks of up to {DEFAULT_CHUNK_ROWS:,}")
    print(f"  cell checks: {best:.3f} s (best of {rounds}; {rows / best:,.0f} rows/s; {fine:,} rows fine)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    modes = ("speed", "memory", "both", "scalar", "cells")
    parser.add_argument("which", nargs="?", choices=modes, default="both")
    parser.add_argument("--rows", type=int, help="rows to generate (default: 1e6 speed, 1e7 memory)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--scalar-sample", type=int, default=500, help="rows timed through estimate()")
    parser.add_argument("--repeat", type=int, default=3, help="speed: turns of batch and floor, best kept")
    args = parser.parse_args()
    catalog = load_catalog(default_plans_dir())
    if args.which == "scalar":
        print_scalar(*scalar_engines(catalog))
    if args.which == "cells":
        cells(args.rows or 1_000_000, args.seed, catalog)
    if args.which in ("speed", "both"):
        speed(args.rows or 1_000_000, args.seed, args.scalar_sample, catalog, args.repeat)
    if args.which in ("memory", "both"):
        memory(args.rows or 10_000_000, args.seed, catalog)


if __name__ == "__main__":
    main()
