"""The payer seam: one payer's 271 quirk is a registered adapter; every other payer is untouched."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import msgspec
import pytest

from coverage.eligibility.client import interpret
from coverage.eligibility.codes import STC_TIERS
from coverage.eligibility.payers import DEFAULT_ADAPTER, PayerAdapter, adapter_for, register, unregister
from coverage.levels import Category, Level

# A payer that states office psychotherapy copays under STC 98 (professional office visit) instead
# of CF/A6: $25 in network, per visit.
ANSWER = {
    "benefitsInformation": [
        {"code": "1", "serviceTypeCodes": ["30"]},
        {
            "code": "B",
            "serviceTypeCodes": ["98"],
            "benefitAmount": "25",
            "timeQualifierCode": "27",
            "inPlanNetworkIndicatorCode": "Y",
        },
    ]
}


class OfficeVisitsUnder98(PayerAdapter):
    name = "office copays under STC 98"

    def stc_tiers(self, category: Category, level: Level) -> tuple[tuple[str, ...], ...]:
        tiers = super().stc_tiers(category, level)
        return (("98",), *tiers) if level == "op" else tiers


@pytest.fixture
def quirky() -> Iterator[str]:
    register("QUIRKY")(OfficeVisitsUnder98)
    yield "QUIRKY"
    unregister("QUIRKY")


def office_copay(payer_id: str) -> tuple[int | None, str | None]:
    answer = httpx.Response(200, content=msgspec.json.encode(ANSWER))
    result = interpret(answer, 1, "000000001", 15, payer_id)
    assert result.outcome == "verified" and result.benefits is not None
    office = result.benefits.level("mh", "op", "in")
    return office.copay_cents, office.sources.get("copay_cents")


def test_the_default_reading_does_not_look_under_stc_98() -> None:
    assert adapter_for("ACMEH") is DEFAULT_ADAPTER
    assert office_copay("ACMEH") == (None, None)  # not stated where the standard looks


def test_an_adapter_overrides_one_quirk_for_its_payer_only(quirky: str) -> None:
    assert isinstance(adapter_for(quirky), OfficeVisitsUnder98)
    assert office_copay(quirky) == (2500, "STC 98 (98), in network")  # $25 -> 2500 cents
    assert office_copay("ACMEH") == (None, None)  # other payers read as before
    # Only the overridden method differs: IOP still looks where the standard says.
    assert adapter_for(quirky).stc_tiers("mh", "iop") == STC_TIERS[("mh", "iop")]


def test_a_payer_gets_one_adapter(quirky: str) -> None:
    with pytest.raises(ValueError, match="already has the adapter office copays under STC 98"):
        register(quirky)(PayerAdapter)
