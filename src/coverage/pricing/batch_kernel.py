"""`price_runs` of the batch as one compiled loop (a client scenario's runs priced in turn), and
the loop that cuts a key's units into runs.

The arithmetic is batch_engine's run pricing (the blocks described there): written as columns it
costs a pass over memory per step, some sixty passes over every (client scenario, run) row, which
was most of a batch's time. Here numba compiles the same steps into one loop that keeps a run's
values in registers. Integer cents in int64 throughout, rounding half-up in integers, as before.

A second loop builds the runs: it walks a key's units in date order once, gives each its status
(visits counted per level and plan year) and marks where a run starts, which as polars columns
took a window over every unit, a chain of conditions and a group_by.

numba looks for coverage.py with `import coverage` and would find this package, which has the same
name, so `_numba()` hides ours while numba loads (numba then runs without coverage.py support).
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import get_args

import numpy as np
import polars as pl

from coverage.pricing.engine import AuthStatus, UnitStatus


def _numba() -> ModuleType:
    ours = sys.modules.get("coverage")
    sys.modules["coverage"] = None  # type: ignore[assignment]  # `import coverage` fails while set
    try:
        import numba
    finally:
        sys.modules["coverage"] = ours  # type: ignore[assignment]
    return numba


# error_model="numpy": no zero-division check per `//` (every division here has a positive divisor).
_jit = _numba().njit(cache=True, nogil=True, error_model="numpy")

# The run columns the loop reads, in this order: the columns of the run matrix.
RUN_INPUTS = (
    "py_idx",  # 0 in the client's starting plan year, 1 in the next, ...
    "first_in_year",
    "fresh_deductible",
    "fresh_oop",
    "deductible_before",
    "priced_units",
    "takes_deductible",
    "unit_allowed",
    "unit_copay",
    "coi_num",
    "coi_den",
    "cap",
    "pen_num",
    "pen_den",
    "pen_allowed",
    "pen_zero",
    "zero_share",
    "zero_copay",
    "zero_coinsurance",
)
(
    _PY_IDX,
    _FIRST_IN_YEAR,
    _FRESH_DEDUCTIBLE,
    _FRESH_OOP,
    _DEDUCTIBLE_BEFORE,
    _PRICED_UNITS,
    _TAKES_DEDUCTIBLE,
    _UNIT_ALLOWED,
    _UNIT_COPAY,
    _COI_NUM,
    _COI_DEN,
    _CAP,
    _PEN_NUM,
    _PEN_DEN,
    _PEN_ALLOWED,
    _PEN_ZERO,
    _ZERO_SHARE,
    _ZERO_COPAY,
    _ZERO_COINSURANCE,
) = range(len(RUN_INPUTS))
# What the loop writes per run (per_run) or sums per client scenario (totals), in this order.
RUN_OUTPUTS = ("deductible", "copay", "coinsurance", "penalty", "deductible_met_after", "oop_met_after")
CLIENT_INPUTS = ("key_id", "deductible_remaining", "oop_remaining", "deductible_met", "oop_met")


@_jit
def _share_of(amount: int, numerator: int, denominator: int) -> int:
    """Percent.of in integers: numerator/denominator of a non-negative amount, rounded half-up."""
    if numerator == 0:  # most runs carry no penalty: skip the division
        return 0
    return (2 * numerator * amount + denominator) // (2 * denominator)


@_jit
def _paid_in_full(budget: int, count: int, share: int) -> int:
    """How many of `count` units, each `share`, the out-of-pocket budget pays in full."""
    if share == 0 or budget >= count * share:  # the usual case needs no division
        return count
    return budget // share


@_jit
def _price_run(
    runs: np.ndarray, index: int, deductible_left: int, budget: int
) -> tuple[int, int, int, int, int]:
    """Run `index` against what the client has left: its deductible, copay, coinsurance, penalty,
    and its share before the out-of-pocket maximum (uncapped)."""
    run = runs[index]
    allowed, priced = run[_UNIT_ALLOWED], run[_PRICED_UNITS]
    pen_num, pen_den = run[_PEN_NUM], run[_PEN_DEN]
    # Block sizes: units wholly inside the deductible, the one that finishes it, the ones past it.
    full = min(priced, deductible_left // allowed) if run[_TAKES_DEDUCTIBLE] and deductible_left > 0 else 0
    part_ded = deductible_left - full * allowed if run[_TAKES_DEDUCTIBLE] and full < priced else 0
    part = 1 if part_ded > 0 else 0
    part_copay = min(run[_UNIT_COPAY], allowed - part_ded)
    zero = priced - full - part
    # The per-unit cap cuts only the finishing unit's copay and coinsurance (engine.per_unit_capped).
    part_share = part_ded + min(
        part_copay + _share_of(allowed - part_ded - part_copay, run[_COI_NUM], run[_COI_DEN]), run[_CAP]
    )
    ded2 = min(part_ded, part_share)
    cop2 = min(part_copay, part_share - ded2)
    zero_share = run[_ZERO_SHARE]
    uncapped = full * allowed + part * part_share + zero * zero_share
    # Block 1, wholly inside the deductible: every unit's share is `allowed`, all of it deductible.
    paid1 = _paid_in_full(budget, full, allowed)
    left1 = budget - paid1 * allowed
    cut1 = 1 if paid1 < full and left1 > 0 else 0
    # Block 2, the unit that finishes the deductible.
    budget2 = left1 if paid1 == full else 0
    paid2 = _paid_in_full(budget2, part, part_share)
    left2 = budget2 - paid2 * part_share
    cut2 = 1 if paid2 < part and left2 > 0 else 0
    cut_ded2 = min(ded2, left2) * cut2
    cut_cop2 = min(cop2, left2 - cut_ded2) * cut2
    # Block 3, past the deductible: copay and coinsurance, no deductible.
    budget3 = left2 if paid2 == part else 0
    paid3 = _paid_in_full(budget3, zero, zero_share)
    left3 = budget3 - paid3 * zero_share
    cut3 = 1 if paid3 < zero and left3 > 0 else 0
    cut_cop3 = min(run[_ZERO_COPAY], left3) * cut3
    deductible = paid1 * allowed + left1 * cut1 + paid2 * ded2 + cut_ded2
    copay = paid2 * cop2 + cut_cop2 + paid3 * run[_ZERO_COPAY] + cut_cop3
    coinsurance = (
        paid2 * (part_share - ded2 - cop2)
        + (left2 * cut2 - cut_ded2 - cut_cop2)
        + paid3 * run[_ZERO_COINSURANCE]
        + (left3 * cut3 - cut_cop3)
    )
    # The no-auth penalty: N% of what the plan pays on each unit (nothing on units inside).
    pen_allowed = run[_PEN_ALLOWED]
    penalty = cut1 * _share_of(allowed - left1, pen_num, pen_den) + (full - paid1 - cut1) * pen_allowed
    penalty += paid2 * _share_of(allowed - part_share, pen_num, pen_den)
    penalty += cut2 * _share_of(allowed - left2, pen_num, pen_den) + (part - paid2 - cut2) * pen_allowed
    penalty += paid3 * run[_PEN_ZERO]
    penalty += cut3 * _share_of(allowed - left3, pen_num, pen_den) + (zero - paid3 - cut3) * pen_allowed
    return deductible, copay, coinsurance, penalty, uncapped


@_jit
def _price_clients(
    clients: np.ndarray, runs: np.ndarray, run_starts: np.ndarray, per_run: bool
) -> np.ndarray:
    """Every client scenario's runs in order. `clients` rows are CLIENT_INPUTS, `runs` rows are
    RUN_INPUTS (sorted by key), and a key's runs are rows run_starts[key] to run_starts[key + 1].
    Returns RUN_OUTPUTS per run (per_run) or their sums per client scenario."""
    rows = 0
    for client in range(clients.shape[0]):
        key = clients[client, 0]
        rows += run_starts[key + 1] - run_starts[key] if per_run else 1
    result = np.zeros((len(RUN_OUTPUTS), rows), dtype=np.int64)  # a column per output
    row = 0
    for client in range(clients.shape[0]):
        key = clients[client, 0]
        deductible_year = shares_year = deductible_start = oop_left = deductible_met0 = oop_met0 = 0
        for index in range(run_starts[key], run_starts[key + 1]):
            if runs[index, _FIRST_IN_YEAR]:  # the running totals restart with each plan year
                deductible_year = shares_year = 0
                first_year = runs[index, _PY_IDX] == 0
                deductible_start = clients[client, 1] if first_year else runs[index, _FRESH_DEDUCTIBLE]
                oop_left = clients[client, 2] if first_year else runs[index, _FRESH_OOP]
                deductible_met0 = clients[client, 3] if first_year else 0
                oop_met0 = clients[client, 4] if first_year else 0
            deductible_left = max(deductible_start - runs[index, _DEDUCTIBLE_BEFORE], 0)
            budget = max(oop_left - shares_year, 0)
            deductible, copay, coinsurance, penalty, uncapped = _price_run(
                runs, index, deductible_left, budget
            )
            deductible_year += deductible
            shares_year += uncapped
            result[0, row] += deductible
            result[1, row] += copay
            result[2, row] += coinsurance
            result[3, row] += penalty
            result[4, row] = deductible_met0 + deductible_year
            result[5, row] = oop_met0 + min(oop_left, shares_year)
            if per_run:
                row += 1
        if not per_run:
            row += 1
    return result


AUTH_CODES: dict[AuthStatus, int] = {"approved": 0, "initial_only": 1, "none": 2}
# engine.UnitStatus as small integers, in its order: priced statuses (covered, penalty) come first.
STATUS_CODES: dict[UnitStatus, int] = {status: code for code, status in enumerate(get_args(UnitStatus))}
# The same codes as plain numbers, which the compiled loop reads as constants.
_AUTH_INITIAL_ONLY, _AUTH_NONE = AUTH_CODES["initial_only"], AUTH_CODES["none"]
_COVERED, _PENALTY_NO_AUTH, _DENIED_NO_AUTH, _OVER_VISIT_LIMIT, _NOT_COVERED = (
    STATUS_CODES[status] for status in get_args(UnitStatus)
)
# What the unit loop reads, in this order (a key's units sorted by date, keys in turn), and as what:
# fixed types, so the loop is compiled (and cached) once.
UNIT_INPUTS: dict[str, type[pl.DataType]] = {
    "key_id": pl.Int64,
    "py_idx": pl.Int32,
    "period": pl.Int32,  # a run never spans two: the month when months are reported, else the plan year
    "level": pl.Int8,
    "unit_in_episode": pl.Int64,
    "auth": pl.Int8,
    "priceable": pl.Boolean,
    "prior_auth": pl.Boolean,
    "initial_units": pl.Int64,
    "denies": pl.Boolean,
    "visit_limit": pl.Int64,
}


@_jit
def _unit_runs(
    key_id: np.ndarray,
    py_idx: np.ndarray,
    period: np.ndarray,
    level: np.ndarray,
    unit_in_episode: np.ndarray,
    auth: np.ndarray,
    priceable: np.ndarray,
    prior_auth: np.ndarray,
    initial_units: np.ndarray,
    denies: np.ndarray,
    visit_limit: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's status (engine._price_one's branches, in its order: no benefit, visit limit,
    denial, penalty, covered), and where runs of units with the same key, plan year, period, level
    and status start: the first unit of each run and its status."""
    units = key_id.shape[0]
    starts = np.empty(units, dtype=np.int64)
    statuses = np.empty(units, dtype=np.int8)
    counted = np.zeros(int(level.max()) + 1 if units else 0, dtype=np.int64)  # visits used per level
    runs = 0
    for unit in range(units):
        new_year = unit == 0 or key_id[unit] != key_id[unit - 1] or py_idx[unit] != py_idx[unit - 1]
        if new_year:  # visit limits count per plan year
            counted[:] = 0
        pending_review = unit_in_episode[unit] > initial_units[unit]
        unauthorized = prior_auth[unit] and (
            auth[unit] == _AUTH_NONE or (auth[unit] == _AUTH_INITIAL_ONLY and pending_review)
        )
        if not priceable[unit]:
            status = _NOT_COVERED
        elif visit_limit[unit] > 0 and counted[level[unit]] >= visit_limit[unit]:
            status = _OVER_VISIT_LIMIT
        elif unauthorized and denies[unit]:
            status = _DENIED_NO_AUTH
        elif unauthorized:
            status = _PENALTY_NO_AUTH
        else:
            status = _COVERED
        if priceable[unit] and not (unauthorized and denies[unit]):
            counted[level[unit]] += 1  # a unit past the limit counts too: the limit stays reached
        if (
            new_year
            or level[unit] != level[unit - 1]
            or period[unit] != period[unit - 1]
            or status != statuses[runs - 1]
        ):
            starts[runs] = unit
            statuses[runs] = status
            runs += 1
    return starts[:runs], statuses[:runs]


def unit_run_starts(units: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """`_unit_runs` of a frame with the UNIT_INPUTS columns: the first unit of each run, its status."""
    return _unit_runs(*(units.get_column(name).cast(dtype).to_numpy() for name, dtype in UNIT_INPUTS.items()))


def _matrix(frame: pl.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    return frame.select(pl.col(columns).cast(pl.Int64)).to_numpy(order="c")


class RunMatrix:
    """Runs as the loop reads them: one int64 row per run, and where each key's runs start."""

    def __init__(self, runs: pl.DataFrame, key_count: int) -> None:
        self.runs = _matrix(runs, RUN_INPUTS)
        keys = runs.get_column("key_id").to_numpy()
        self.run_starts = np.searchsorted(keys, np.arange(key_count + 1), side="left").astype(np.int64)

    def price(self, clients: pl.DataFrame, per_run: bool) -> pl.DataFrame:
        """RUN_OUTPUTS per run of each client scenario (per_run), or summed per client scenario."""
        priced = _price_clients(_matrix(clients, CLIENT_INPUTS), self.runs, self.run_starts, per_run)
        return pl.DataFrame({name: priced[index] for index, name in enumerate(RUN_OUTPUTS)})


def warm_up() -> None:
    """Load the compiled loops (from numba's cache, or compile them on a first run): a process pays
    about 0.2 s for them once, which a batch spends on a thread while its first chunks are read."""
    unit_run_starts(pl.DataFrame(schema=UNIT_INPUTS))
    no_clients = np.zeros((0, len(CLIENT_INPUTS)), dtype=np.int64)
    _price_clients(
        no_clients, np.zeros((0, len(RUN_INPUTS)), dtype=np.int64), np.zeros(1, dtype=np.int64), False
    )
