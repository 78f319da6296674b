"""The I/O floor of `coverage batch`: what polars alone needs to read its input and write its output.

    python scripts/io_floor.py INPUT.csv BATCH_OUTPUT.csv TARGET.csv CHUNK_ROWS

Imports polars, reads INPUT.csv as the batch does (every cell as text, in chunks of CHUNK_ROWS,
with a row number), and writes the rows of BATCH_OUTPUT.csv, with the batch's column types
(whole numbers, text, two-decimal dollars), to TARGET.csv in chunks of the batch's size. Loading
those rows is not timed. Prints the seconds of each step as JSON; `bench_batch.py` runs it.
"""

from __future__ import annotations

import json
import sys
import time

started = time.perf_counter()
import polars as pl  # noqa: E402 (timed: the batch pays for this import too)

imported = time.perf_counter()
TEXT_COLUMNS = ("client_id", "scenario", "pathway")
WHOLE_COLUMNS = ("row", "units")


def main() -> None:
    source, result, target, chunk_rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    header = pl.read_csv(result, n_rows=0).columns
    types = {
        name: pl.String if name in TEXT_COLUMNS else pl.Int64 if name in WHOLE_COLUMNS else pl.Decimal(38, 2)
        for name in header
    }
    rows = pl.read_csv(result, schema=types)
    loaded = time.perf_counter()
    batches = pl.scan_csv(source, infer_schema=False).with_row_index("row", offset=1)
    for _ in batches.collect_batches(chunk_size=chunk_rows):
        pass
    read = time.perf_counter()
    with open(target, "wb") as handle:
        for first in range(0, rows.height, 3 * chunk_rows):
            rows.slice(first, 3 * chunk_rows).write_csv(handle, include_header=first == 0)
    written = time.perf_counter()
    print(json.dumps({"import": imported - started, "read": read - loaded, "write": written - read}))


if __name__ == "__main__":
    main()
