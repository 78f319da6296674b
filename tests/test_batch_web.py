"""POST /batch through Litestar's test client: the zip, its counts, and every refusal's status."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient
from tests.conftest import PLANS_DIR, REPO

from coverage.web import create_app
from coverage.web.batch import MAX_UPLOAD_BYTES

KEY = {"X-API-Key": "test-staff-key"}
CSV = {**KEY, "Content-Type": "text/csv"}
SAMPLE = (REPO / "tests" / "data" / "batch_sample.csv").read_bytes()


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(PLANS_DIR, api_keys=["test-staff-key"])) as test_client:
        yield test_client


def unzip(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as bundle:
        return {name: bundle.read(name).decode() for name in bundle.namelist()}


def test_a_csv_body_gets_a_zip_of_results_and_errors(client: TestClient) -> None:
    response = client.post("/batch", content=SAMPLE, headers=CSV)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "batch-results.zip" in response.headers["content-disposition"]
    counts = [response.headers[f"x-batch-{name}"] for name in ("rows", "priced-rows", "rejected-rows")]
    assert counts == ["13", "10", "3"]
    files = unzip(response.content)
    assert set(files) == {"results.csv", "errors.csv"}
    results = files["results.csv"].splitlines()
    assert (
        results[1]
        == "1,A-001,weekly,op:26,26,3120.00,780.00,0.00,780.00,0.00,0.00,0.00,0.00,2340.00,0.00,0.00"
    )
    assert len(results) == 1 + 28
    assert (
        files["errors.csv"].splitlines()[1] == "10,X-010,plan_id,no-such-plan,no plan with this id is loaded"
    )


def test_monthly_is_added_on_request(client: TestClient) -> None:
    files = unzip(client.post("/batch?monthly=true", content=SAMPLE, headers=CSV).content)
    assert set(files) == {"results.csv", "errors.csv", "monthly.csv"}
    assert (
        files["monthly.csv"]
        .splitlines()[0]
        .endswith("plan_year_start,deductible_met,deductible_remaining,oop_met,oop_remaining")
    )


def test_staff_only(client: TestClient) -> None:
    assert client.post("/batch", content=SAMPLE, headers={"Content-Type": "text/csv"}).status_code == 401


def test_a_body_over_the_limit_gets_413_saying_so(client: TestClient) -> None:
    response = client.post("/batch", content=b"x" * (MAX_UPLOAD_BYTES + 1), headers=CSV)
    assert response.status_code == 413
    [error] = response.json()["errors"]
    assert "larger than 20 MB" in error["message"] and "coverage batch" in error["message"]


def test_missing_columns_are_named_one_by_one(client: TestClient) -> None:
    body = b"client_id,plan_id,category,oop_met\nc,acme-ppo-gold-2026,mh,0\n"
    response = client.post("/batch", content=body, headers=CSV)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [
        "network",
        "start_date",
        "deductible_met",
    ]


@pytest.mark.parametrize(
    ("body", "headers", "status", "words"),
    [
        (b"", CSV, 422, "the body is empty"),
        (SAMPLE + b"a,b,c,d,e,f,g,h,i,j,k,l,m\n", CSV, 422, "stops being valid CSV"),
    ],
)
def test_unusable_bodies_are_4xx_with_a_message(
    client: TestClient, body: bytes, headers: dict[str, str], status: int, words: str
) -> None:
    response = client.post("/batch", content=body, headers=headers)
    assert response.status_code == status
    assert any(words in error["message"] for error in response.json()["errors"])


def test_the_batch_page_uploads_a_file_and_names_a_missing_one(client: TestClient) -> None:
    """The staff Batch page posts a multipart form; its `file` is priced like a CSV body."""
    page = client.get("/batch", headers=KEY)
    assert 'enctype="multipart/form-data"' in page.text and 'action="/batch"' in page.text
    uploaded = client.post("/batch", files={"file": ("clients.csv", SAMPLE, "text/csv")}, headers=KEY)
    as_body = client.post("/batch", content=SAMPLE, headers={**KEY, "Content-Type": "text/csv"})
    assert uploaded.status_code == 200
    assert uploaded.headers["X-Batch-Rows"] == as_body.headers["X-Batch-Rows"] != "0"
    wrong = client.post("/batch", files={"other": ("x.csv", SAMPLE, "text/csv")}, headers=KEY)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "file"
