"""`price_runs` of the batch as one compiled loop (a client scenario's runs priced in turn), and
the loop that cuts a key's units into runs.

The arithmetic is batch_engine's run pricing (the blocks described there): written as columns it
costs a pass over memory per step, some sixty passes over every (client scenario, run) row, which
was most of a batch's time. Here numba compiles the same steps into one loop that keeps a run's
values in registers. Integer cents in int64 throughout, rounding half-up in integers, as before.

A second loop builds the runs: it walks each key's dated units once, finds the terms that price
each date, gives each unit its status (visits counted per level and plan year) and cuts runs; as
polars columns that was a frame of every unit of every key, a window, a chain of conditions and
a group_by.

numba looks for coverage.py with `import coverage` and would find this package, which has the same
name, so `_numba()` hides ours while numba loads (numba then runs without coverage.py support).
For those 0.2 s another thread could not import a `coverage` module not yet loaded, so this module
is imported before any thread starts: by the web app as it is built, by `coverage batch` first.
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
    # Most runs have no finishing unit: its share is then 0 and costs no division.
    part_share = 0
    if part:
        part_coinsurance = _share_of(allowed - part_ded - part_copay, run[_COI_NUM], run[_COI_DEN])
        part_share = part_ded + min(part_copay + part_coinsurance, run[_CAP])
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
# What the run builder reads: per key, the slice of the units table holding its (start date,
# pathway)'s dated units, and the key's parts; per unit; per renewal row (sorted by terms_id); per
# benefit row (terms_id * levels + level). Dates as days from 1970-01-01.
KEY_INPUTS = ("first_unit", "end_unit", "terms_id", "auth", "py_month", "py_day", "start_py_year")
UNIT_INPUTS = ("date", "year", "month", "day", "month_no", "level", "unit_in_episode")
RENEWAL_INPUTS = ("terms_id", "valid_from", "valid_to", "unit_terms_id")
BENEFIT_INPUTS = ("priceable", "prior_auth", "initial_units", "denies", "visit_limit")
# What it writes per run: the key's row, the row of the run's first unit, and the run's terms
# (those of its first unit), plan year (0 = the key's first), status and number of units.
KEY_RUN_OUTPUTS = ("key", "unit", "terms_id", "py_idx", "status", "units")


@_jit
def _unit_status(benefit: np.ndarray, auth: int, unit_in_episode: int, visits: int) -> tuple[int, bool]:
    """engine._price_one's branches, in its order (no benefit, visit limit, denial, penalty,
    covered), for a unit after `visits` counted visits of its level; and whether it counts as one."""
    priceable, prior_auth, initial_units = benefit[0], benefit[1], benefit[2]
    denies, visit_limit = benefit[3], benefit[4]
    pending_review = unit_in_episode > initial_units
    unauthorized = prior_auth != 0 and (auth == _AUTH_NONE or (auth == _AUTH_INITIAL_ONLY and pending_review))
    denied = unauthorized and denies != 0
    if priceable == 0:
        status = _NOT_COVERED
    elif visit_limit > 0 and visits >= visit_limit:
        status = _OVER_VISIT_LIMIT
    elif denied:
        status = _DENIED_NO_AUTH
    elif unauthorized:
        status = _PENALTY_NO_AUTH
    else:
        status = _COVERED
    return status, priceable != 0 and not denied  # a unit past the limit counts: it stays reached


@_jit
def _key_runs(
    keys: np.ndarray,
    units: np.ndarray,
    renewals: np.ndarray,
    renewal_starts: np.ndarray,
    benefits: np.ndarray,
    levels: int,
    by_month: bool,
) -> np.ndarray:
    """Each key's units in date order, cut into runs of units with the same plan year, level and
    status (and month, by_month); returns KEY_RUN_OUTPUTS per run, as rows."""
    total = 0
    for key in range(keys.shape[0]):
        total += keys[key, 1] - keys[key, 0]
    result = np.zeros((len(KEY_RUN_OUTPUTS), total), dtype=np.int64)  # a column per output
    visits = np.zeros(levels, dtype=np.int64)  # counted per level in the plan year
    runs = 0
    for key in range(keys.shape[0]):
        terms, auth = keys[key, 2], keys[key, 3]
        py_month, py_day, start_py_year = keys[key, 4], keys[key, 5], keys[key, 6]
        first = True
        py_idx = level = period = status = -1
        for unit in range(keys[key, 0], keys[key, 1]):
            date, year, month, day = units[unit, 0], units[unit, 1], units[unit, 2], units[unit, 3]
            month_no, unit_level, unit_in_episode = units[unit, 4], units[unit, 5], units[unit, 6]
            unit_terms = -1  # the terms that price the date: the key's, or a renewing plan's
            for row in range(renewal_starts[terms], renewal_starts[terms + 1]):
                if renewals[row, 1] <= date <= renewals[row, 2]:
                    unit_terms = renewals[row, 3]
                    break
            if unit_terms < 0:  # no plan prices the date: the unit is left out
                continue
            before = month < py_month or (month == py_month and day < py_day)
            unit_py_idx = year - (1 if before else 0) - start_py_year
            if first or unit_py_idx != py_idx:  # visit limits count per plan year
                visits[:] = 0
            unit_status, counts = _unit_status(
                benefits[unit_terms * levels + unit_level], auth, unit_in_episode, visits[unit_level]
            )
            visits[unit_level] += counts
            unit_period = month_no if by_month else unit_py_idx
            if (
                first
                or unit_py_idx != py_idx
                or unit_level != level
                or unit_period != period
                or unit_status != status
            ):
                result[0, runs], result[1, runs], result[2, runs] = key, unit, unit_terms
                result[3, runs], result[4, runs] = unit_py_idx, unit_status
                runs += 1
            result[5, runs - 1] += 1
            first = False
            py_idx, level, period, status = unit_py_idx, unit_level, unit_period, unit_status
    return result[:, :runs]


def key_runs(
    keys: pl.DataFrame,
    units: pl.DataFrame,
    renewals: pl.DataFrame,
    benefits: pl.DataFrame,
    levels: int,
    by_month: bool,
) -> pl.DataFrame:
    """`_key_runs` of frames with the KEY_INPUTS, UNIT_INPUTS, RENEWAL_INPUTS and BENEFIT_INPUTS."""
    renewals = renewals.sort("terms_id", maintain_order=True)
    terms_ids = renewals.get_column("terms_id").to_numpy()
    renewal_starts = np.searchsorted(terms_ids, np.arange(benefits.height // levels + 1), side="left")
    result = _key_runs(
        _matrix(keys, KEY_INPUTS),
        _matrix(units, UNIT_INPUTS),
        _matrix(renewals, RENEWAL_INPUTS),
        renewal_starts.astype(np.int64),
        _matrix(benefits, BENEFIT_INPUTS),
        levels,
        by_month,
    )
    return pl.DataFrame({name: result[index] for index, name in enumerate(KEY_RUN_OUTPUTS)})


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

    def nothing(columns: tuple[str, ...]) -> pl.DataFrame:
        return pl.DataFrame(schema=dict.fromkeys(columns, pl.Int64))

    key_runs(
        nothing(KEY_INPUTS), nothing(UNIT_INPUTS), nothing(RENEWAL_INPUTS), nothing(BENEFIT_INPUTS), 1, False
    )
    no_clients = np.zeros((0, len(CLIENT_INPUTS)), dtype=np.int64)
    _price_clients(
        no_clients, np.zeros((0, len(RUN_INPUTS)), dtype=np.int64), np.zeros(1, dtype=np.int64), False
    )
