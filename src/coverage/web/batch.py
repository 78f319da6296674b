"""POST /batch (staff): the finance batch over HTTP. A CSV body in, a zip of CSVs out.

The body is the same CSV `coverage batch` reads (docs/batch.md). The answer is a zip holding
`results.csv` (one row per client and scenario), `errors.csv` (one row per rejected cell, header
only when none) and, with `?monthly=true`, `monthly.csv`; headers X-Batch-Rows,
X-Batch-Priced-Rows and X-Batch-Rejected-Rows give the counts. Bodies over MAX_UPLOAD_BYTES get
413 saying so; bigger files belong on the command line, which streams.

Memory stays bounded whatever the upload: the body is streamed to a temporary file, priced in
chunks of WEB_CHUNK_ROWS into temporary CSV files, zipped from disk and sent from disk; the
folder is removed once the answer is sent. Result CSVs together may hold MAX_OUTPUT_BYTES;
a run that would write more stops with 413 (monthly tables over long horizons grow fast).
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
from litestar import Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import UploadFile
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter
from litestar.response import File, Template

from coverage.batch import BatchResult, run_batch
from coverage.plans import PlanCatalog
from coverage.web.shared import Catalog, HttpError, Problem, StaffController, staff_errors

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_OUTPUT_BYTES = 2 * 1024 * 1024 * 1024  # uncompressed CSV, all result files together
WEB_CHUNK_ROWS = 5_000  # rows priced at a time: bounds the server's memory per request
_TOO_LARGE = (
    f"the CSV body is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB, the limit of POST /batch "
    "(about 250,000 rows); split the file, or run `coverage batch` on the command line, which streams"
)
_OUTPUT_TOO_LARGE = (
    f"the results would be larger than {MAX_OUTPUT_BYTES // 1024**3} GB of CSV, the limit of POST /batch; "
    "ask without monthly=true, split the file, or run `coverage batch` on the command line"
)


@dataclass
class _CsvBodyOperation(Operation):
    """The OpenAPI operation of POST /batch, with its CSV request body (the handler reads the raw
    stream, so Litestar cannot infer one)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The client rows as CSV with a header row (docs/batch.md), at most 20 MB.",
            content={"text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))},
        )


class OutputTooLarge(Exception):
    """The result files passed MAX_OUTPUT_BYTES."""


class _Budget:
    """Bytes still allowed across every result file of one run."""

    def __init__(self, limit: int) -> None:
        self.left = limit


class _Capped(io.RawIOBase):
    """A result file that stops the run once the shared budget is spent."""

    def __init__(self, handle: io.BufferedWriter, budget: _Budget) -> None:
        self._handle, self._budget = handle, budget

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._budget.left -= len(data)
        if self._budget.left < 0:
            raise OutputTooLarge
        return self._handle.write(data)


def _priced_zip(source: Path, folder: Path, catalog: PlanCatalog, monthly: bool) -> tuple[Path, BatchResult]:
    """Run the batch on an uploaded CSV file; the zip of its outputs (in `folder`) and the counts."""
    names = ["results.csv", "errors.csv", *(["monthly.csv"] if monthly else [])]
    budget = _Budget(MAX_OUTPUT_BYTES)
    with (
        (folder / names[0]).open("wb") as results,
        (folder / names[1]).open("wb") as errors,
        (folder / "monthly.csv").open("wb") as months,
    ):
        result = run_batch(
            source,
            _Capped(results, budget),  # type: ignore[arg-type]
            _Capped(errors, budget),  # type: ignore[arg-type]
            catalog=catalog,
            monthly=_Capped(months, budget) if monthly else None,  # type: ignore[arg-type]
            chunk_rows=WEB_CHUNK_ROWS,
        )
    archive = folder / "batch-results.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name in names:
            bundle.write(folder / name, arcname=name)
            (folder / name).unlink()  # free the disk as we go
    return archive, result


async def _spool_body(request: Request[Any, Any, Any], target: Path) -> int:
    """Stream the body to `target`; its size. 413 past MAX_UPLOAD_BYTES."""
    size = 0
    with target.open("wb") as spool:
        try:
            async for block in request.stream():
                size += len(block)
                if size > MAX_UPLOAD_BYTES:
                    raise HttpError(413, [Problem(None, _TOO_LARGE)])
                spool.write(block)
        except RequestEntityTooLarge:
            raise HttpError(413, [Problem(None, _TOO_LARGE)]) from None
    return size


async def _spool_form_file(request: Request[Any, Any, Any], target: Path) -> None:
    """The `file` field of a multipart form (the Batch page) written to `target`."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HttpError(422, [Problem("file", "choose the CSV file to upload")])
    with target.open("wb") as handle:
        while chunk := await upload.read(1 << 20):
            handle.write(chunk)


class BatchApi(StaffController):
    tags = ["staff API"]  # noqa: RUF012

    @get("/batch", sync_to_thread=False, include_in_schema=False)
    def page(self) -> Template:
        """The upload form the staff navigation links (posts the file to POST /batch)."""
        return Template("batch.html", context={"staff": True})

    @post(
        "/batch",
        status_code=200,
        request_max_body_size=MAX_UPLOAD_BYTES,
        operation_class=_CsvBodyOperation,
        responses=staff_errors(413, 415, 422),
        response_description="A zip of results.csv, errors.csv and (monthly=true) monthly.csv",
        media_type="application/zip",
    )
    async def run(
        self,
        request: Request[Any, Any, Any],
        catalog: Catalog,
        monthly: bool = Parameter(default=False, description="also return monthly.csv"),
    ) -> File:
        """Estimates for every client row of a CSV body (Content-Type: text/csv), as a zip of CSVs."""
        folder = Path(tempfile.mkdtemp(prefix="coverage-batch-"))
        try:
            source = folder / "upload.csv"
            if request.headers.get("content-type", "").startswith("multipart/"):
                await _spool_form_file(request, source)  # the Batch page's upload form
            else:
                await _spool_body(request, source)
            with source.open("rb") as head:
                if not head.read(4096).strip():
                    raise HttpError(
                        422, [Problem(None, "the body is empty: send the CSV with its header row")]
                    )
            try:
                archive, result = await anyio.to_thread.run_sync(
                    _priced_zip, source, folder, catalog, monthly
                )
            except OutputTooLarge:
                raise HttpError(413, [Problem("monthly", _OUTPUT_TOO_LARGE)]) from None
            source.unlink()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return File(
            path=archive,
            filename="batch-results.zip",
            media_type="application/zip",
            headers={
                "X-Batch-Rows": str(result.rows),
                "X-Batch-Priced-Rows": str(result.priced_rows),
                "X-Batch-Rejected-Rows": str(result.error_rows),
            },
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )


ROUTES = [BatchApi]
