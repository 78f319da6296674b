"""The payer seam: each payer's 271 quirks as a small registered adapter.

The mapping asks the payer's adapter where a level of care looks for its values and how an
entry's network indicator reads; `PayerAdapter` itself is the default every payer gets. A
payer that, say, states office copays under another service type code gets a subclass that
overrides that one method, registered for its payer ids, and no other payer is touched:

    @register("ACMEH")
    class Acme(PayerAdapter):
        def stc_tiers(self, category, level): ...
"""

from __future__ import annotations

from collections.abc import Callable

from coverage.eligibility.codes import STC_TIERS
from coverage.eligibility.wire import BenefitEntry
from coverage.levels import Category, Level, Network


class PayerAdapter:
    """How the mapping reads one payer's 271; these methods are the X12 reading every payer gets."""

    name = "default (X12 271 as the standard reads)"

    def stc_tiers(self, category: Category, level: Level) -> tuple[tuple[str, ...], ...]:
        """Service type codes a level looks in, most specific tier first (codes.STC_TIERS)."""
        return STC_TIERS[(category, level)]

    def network_match(self, entry: BenefitEntry, network: Network) -> bool | None:
        """True: the entry states this network (Y/N) or both (W); False: it states the other
        network; None: it states none (absent or U), so it may apply to either."""
        indicator = entry.in_plan_network_indicator_code
        if indicator == "W":
            return True
        if indicator in ("Y", "N"):
            return indicator == ("Y" if network == "in" else "N")
        return None


DEFAULT_ADAPTER = PayerAdapter()
_ADAPTERS: dict[str, PayerAdapter] = {}


def register(*payer_ids: str) -> Callable[[type[PayerAdapter]], type[PayerAdapter]]:
    """Class decorator: use this adapter for these clearinghouse payer ids."""

    def add(adapter: type[PayerAdapter]) -> type[PayerAdapter]:
        for payer_id in payer_ids:
            if payer_id in _ADAPTERS:
                raise ValueError(f"payer {payer_id!r} already has the adapter {_ADAPTERS[payer_id].name}")
            _ADAPTERS[payer_id] = adapter()
        return adapter

    return add


def unregister(*payer_ids: str) -> None:
    """Drop the adapters of these payer ids (tests register throwaway ones)."""
    for payer_id in payer_ids:
        _ADAPTERS.pop(payer_id, None)


def adapter_for(payer_id: str) -> PayerAdapter:
    return _ADAPTERS.get(payer_id, DEFAULT_ADAPTER)
