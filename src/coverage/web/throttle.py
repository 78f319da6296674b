"""Failed staff credentials per client: too many in a window and the client waits (429).

Kept in the process's memory: a restart forgets it, and each worker counts on its own, so the
effective limit is MAX_FAILURES per worker. Enough to turn guessing a 16+ character key from
one address into centuries; a shared store can replace it when the service runs on many hosts.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_FAILURES = 10
WINDOW_S = 300.0
MAX_CLIENTS_TRACKED = 10_000  # memory bound: the quietest clients are forgotten first


class FailureLimiter:
    """Counts failed logins and failed API keys per client address within a sliding window."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.get(client, deque())
        horizon = self._clock() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until `client` may try again, or None when it may now."""
        failures = self._recent(client)
        if len(failures) < self.max_failures:
            return None
        return max(1, math.ceil(failures[-self.max_failures] + self.window_s - self._clock()))

    def failed(self, client: str) -> None:
        failures = self._recent(client)
        failures.append(self._clock())
        self._failures[client] = failures
        self._failures.move_to_end(client)
        while len(self._failures) > MAX_CLIENTS_TRACKED:
            self._failures.popitem(last=False)
