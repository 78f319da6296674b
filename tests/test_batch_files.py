"""`coverage batch` output files are all-or-nothing, and the CSV edges of issue 11 (items 3 and 8)."""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import polars as pl
import pytest
from tests.conftest import PLANS_DIR, REPO

import coverage.batch
from coverage.batch import run_batch
from coverage.cli import main
from coverage.plans import load_catalog

HEADER = "client_id,plan_id,network,category,start_date,deductible_met,oop_met"
ROW = "{client},acme-ppo-gold-2026,in,mh,2026-03-02,0.00,0.00"
OLD = "an earlier run's results, which a failed run must leave alone\n"


def batch(source: Path, output: Path) -> int:
    return main(["batch", str(source), "-o", str(output), "--plans-dir", str(PLANS_DIR)])


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".part"))


# --- item 3: all or nothing ---------------------------------------------------------------------


def test_a_refused_run_touches_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.csv"
    source.write_text("client_id,plan_id\nc1,acme-ppo-gold-2026\n")  # required columns missing
    output = tmp_path / "out.csv"
    output.write_text(OLD)
    assert batch(source, output) == 2
    assert "missing required columns" in capsys.readouterr().err
    assert output.read_text() == OLD
    assert not (tmp_path / "out.errors.csv").exists()
    assert leftovers(tmp_path) == []


class FillsUp(io.RawIOBase):
    """A file that takes `room` bytes and then fails as a full disk does."""

    def __init__(self, handle: IO[bytes], room: int) -> None:
        self._handle, self._room = handle, room

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return self._handle.write(data)


def test_a_full_disk_is_one_line_and_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("\n".join([HEADER, *(ROW.format(client=f"c{n}") for n in range(50))]) + "\n")
    output = tmp_path / "out.csv"
    output.write_text(OLD)

    def on_a_small_disk(source: Any, output: IO[bytes], errors: IO[bytes], **options: Any) -> Any:
        return run_batch(source, FillsUp(output, room=300), errors, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(coverage.batch, "run_batch", on_a_small_disk)  # the command imports it when run
    assert batch(source, output) == 2
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if line.startswith("coverage:")] == [
        "coverage: error: cannot write the output: No space left on device"
    ]
    assert output.read_text() == OLD
    assert leftovers(tmp_path) == []


def test_a_kill_mid_run_leaves_no_file_under_the_final_name(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    rows = (ROW.format(client=f"c{n}") for n in range(200_000))
    source.write_text("\n".join([HEADER, *rows]) + "\n")
    output = tmp_path / "out.csv"
    output.write_text(OLD)
    cli = "import sys; from coverage.cli import main; sys.exit(main())"
    command = [sys.executable, "-c", cli, "batch", str(source), "-o", str(output)]
    command += ["--plans-dir", str(PLANS_DIR), "--chunk-rows", "2000"]
    run = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and run.poll() is None:  # wait until results are being written
            parts = [tmp_path / name for name in leftovers(tmp_path) if name.startswith(".out.csv.")]
            if parts and parts[0].stat().st_size > 10_000:
                break
            time.sleep(0.05)
        assert run.poll() is None, "the run ended before it could be killed"
        os.kill(run.pid, signal.SIGKILL)
    finally:
        run.wait()
    assert run.returncode == -signal.SIGKILL
    assert output.read_text() == OLD  # the half-written results stay under their hidden .part name
    assert not (tmp_path / "out.errors.csv").exists()


def test_a_good_run_replaces_the_outputs(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"{HEADER}\n{ROW.format(client='c1')}\n")
    output = tmp_path / "out.csv"
    output.write_text(OLD)
    assert batch(source, output) == 0
    # weekly: 26 sessions x $30 copay = $780.00 (README's worked example)
    lines = output.read_text().splitlines()
    assert len(lines) == 4
    assert lines[1].startswith("1,c1,weekly,op:26,26,")
    assert ",780.00," in lines[1]
    assert leftovers(tmp_path) == []


# --- item 8: CSV edges ---------------------------------------------------------------------------


@pytest.mark.parametrize("start", [" ", "\n", "\u00a0", "\u200b", "＝", "＋", "－", "＠"])
def test_cells_a_spreadsheet_could_read_as_formulas_are_escaped(tmp_path: Path, start: str) -> None:
    client = f"{start}1+2"
    source = tmp_path / "in.csv"
    source.write_text(f"{HEADER}\n{ROW.format(client=chr(34) + client + chr(34))}\n", encoding="utf-8")
    output = tmp_path / "out.csv"
    assert batch(source, output) == 0
    written = pl.read_csv(output, infer_schema=False)["client_id"].to_list()
    assert written == ["'" + client] * 3


def test_cr_only_line_endings_are_read(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes("\r".join([HEADER, ROW.format(client="c1"), ROW.format(client="c2")]).encode() + b"\r")
    output = tmp_path / "out.csv"
    assert batch(source, output) == 0
    assert len(output.read_text().splitlines()) == 1 + 2 * 3  # header + 2 clients x 3 scenarios
    results, errors = io.BytesIO(), io.BytesIO()
    body = source.read_bytes()
    assert run_batch(body, results, errors, catalog=load_catalog(PLANS_DIR)).priced_rows == 2


def test_utf16_input_is_refused_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"{HEADER}\n{ROW.format(client='c1')}\n", encoding="utf-16")
    output = tmp_path / "out.csv"
    assert batch(source, output) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "file must be UTF-8" in err
    assert not output.exists()
