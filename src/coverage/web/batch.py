"""POST /batch (staff): the finance batch over HTTP. A CSV body in, a zip of CSVs out.

The body is the same CSV `coverage batch` reads (docs/batch.md). The answer is a zip holding
`results.csv` (one row per client and scenario), `errors.csv` (one row per rejected cell, header
only when none) and, with `?monthly=true`, `monthly.csv`; headers X-Batch-Rows,
X-Batch-Priced-Rows and X-Batch-Rejected-Rows give the counts. Bodies over MAX_UPLOAD_BYTES get
413 saying so; bigger files belong on the command line, which streams.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import anyio.to_thread
from litestar import Request, Response, post
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import Parameter

from coverage.batch import BatchResult, run_batch
from coverage.plans import PlanCatalog
from coverage.web.shared import Catalog, HttpError, Problem, StaffController

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
_TOO_LARGE = (
    f"the CSV body is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB, the limit of POST /batch "
    "(about 250,000 rows); split the file, or run `coverage batch` on the command line, which streams"
)


def _priced_zip(body: bytes, catalog: PlanCatalog, monthly: bool) -> tuple[bytes, BatchResult]:
    """Run the batch on an uploaded CSV; the zip of its outputs and the counts."""
    results, errors, months = io.BytesIO(), io.BytesIO(), io.BytesIO() if monthly else None
    result = run_batch(body, results, errors, catalog=catalog, monthly=months)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("results.csv", results.getvalue())
        bundle.writestr("errors.csv", errors.getvalue())
        if months is not None:
            bundle.writestr("monthly.csv", months.getvalue())
    return archive.getvalue(), result


class BatchApi(StaffController):
    tags = ["staff API"]  # noqa: RUF012

    @post("/batch", status_code=200, request_max_body_size=MAX_UPLOAD_BYTES)
    async def run(
        self,
        request: Request[Any, Any, Any],
        catalog: Catalog,
        monthly: bool = Parameter(default=False, description="also return monthly.csv"),
    ) -> Response[bytes]:
        """Estimates for every client row of a CSV body (Content-Type: text/csv), as a zip of CSVs."""
        if request.headers.get("content-type", "").startswith("multipart/"):
            raise HttpError(
                415,
                [
                    Problem(
                        None, "send the CSV itself as the body (Content-Type: text/csv), not a form upload"
                    )
                ],
            )
        try:
            body = await request.body()
        except RequestEntityTooLarge:
            raise HttpError(413, [Problem(None, _TOO_LARGE)]) from None
        if not body.strip():
            raise HttpError(
                422, [Problem(None, "the body is empty: send the CSV with its header row")]
            )
        archive, result = await anyio.to_thread.run_sync(_priced_zip, body, catalog, monthly)
        return Response(
            archive,
            media_type="application/zip",
            headers={
                "Content-Disposition": 'attachment; filename="batch-results.zip"',
                "X-Batch-Rows": str(result.rows),
                "X-Batch-Priced-Rows": str(result.priced_rows),
                "X-Batch-Rejected-Rows": str(result.error_rows),
            },
        )


ROUTES = [BatchApi]
