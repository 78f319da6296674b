"""Where the clearinghouse is and who is asking, read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from msgspec import Struct


class EligibilityConfig(Struct, frozen=True):
    """Where the clearinghouse is and who is asking; `url` None means verification is off."""

    url: str | None = None
    api_key: str | None = None
    timeout_s: float = 15.0
    provider_npi: str | None = None
    provider_name: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EligibilityConfig:
        env = os.environ if environ is None else environ
        raw_timeout = env.get("COVERAGE_ELIGIBILITY_TIMEOUT", "").strip() or "15"
        try:
            timeout_s = float(raw_timeout)
        except ValueError:
            timeout_s = -1.0
        if not 0 < timeout_s <= 300:
            raise ValueError(
                f"COVERAGE_ELIGIBILITY_TIMEOUT must be seconds between 0 and 300, got {raw_timeout!r}"
            )
        return cls(
            url=env.get("COVERAGE_ELIGIBILITY_URL", "").strip() or None,
            api_key=env.get("COVERAGE_ELIGIBILITY_API_KEY", "").strip() or None,
            timeout_s=timeout_s,
            provider_npi=env.get("COVERAGE_PROVIDER_NPI", "").strip() or None,
            provider_name=env.get("COVERAGE_PROVIDER_NAME", "").strip() or None,
        )

    def problem(self) -> str | None:
        """Why verification cannot run with this configuration, or None when it can."""
        if self.url is None:
            return (
                "benefit verification is not configured: set COVERAGE_ELIGIBILITY_URL "
                "(and COVERAGE_ELIGIBILITY_API_KEY) to the clearinghouse's eligibility endpoint"
            )
        if not self.url.startswith(("https://", "http://")):
            return f"COVERAGE_ELIGIBILITY_URL must be an http(s) URL, got {self.url!r}"
        return None

