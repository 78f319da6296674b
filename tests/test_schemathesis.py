"""A bounded schemathesis run against the app's own /schema (issue 11, item 9).

Every documented operation gets a few generated requests (valid and invalid), sent with the
staff key: no answer may be a 5xx, and every answer's status, content type, headers and body
must be the ones /schema documents. Bounded (MAX_EXAMPLES per operation, no shrinking) to keep
the suite fast; the deep, long run is `schemathesis run` by hand.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.conftest import PLANS_DIR

from coverage.web import create_app

KEY = "schemathesis-staff-key-01"
MAX_EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _app() -> Any:
    """The app over a throw-away database, with verification unconfigured (a documented 503)."""
    database = Path(tempfile.mkdtemp(prefix="coverage-schemathesis-")) / "coverage.sqlite"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COVERAGE_DB", str(database))
        patch.delenv("COVERAGE_ELIGIBILITY_URL", raising=False)
        return create_app(PLANS_DIR, api_keys=[KEY])


schema = schemathesis.openapi.from_asgi("/schema/openapi.json", _app())
schema.config.generation.update(modes=list(schemathesis.GenerationMode))  # valid and invalid requests


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    phases=[Phase.explicit, Phase.generate],
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_matches_its_schema(case: schemathesis.Case) -> None:
    response = case.call(headers={"X-API-Key": KEY})
    checks = CHECKS
    if response.status_code == 503 and case.path == "/verifications":
        # Verification is unconfigured here: its documented 503 "not configured" is the answer
        # staff must see, not a server fault; every other check still applies to it.
        assert "not configured" in response.text
        checks = [check for check in CHECKS if check is not not_a_server_error]
    case.validate_response(response, checks=checks)
