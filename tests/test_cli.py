"""The CLI is a thin shell: JSON shape, the readable table, and exit code 2 on bad arguments."""

from __future__ import annotations

import json

import pytest
from tests.conftest import PLANS_DIR

from coverage.cli import main
from coverage.plans import load_catalog


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_comparison_for_the_ppo(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys,
        "estimate",
        "--plan",
        "acme-ppo-gold-2026",
        "--start",
        "2026-03-02",
        "--json",
        "--plans-dir",
        str(PLANS_DIR),
    )
    assert code == 0
    result = json.loads(out)
    assert result["plan_id"] == "acme-ppo-gold-2026"
    totals = {s["name"]: s["totals"]["member_cost_cents"] for s in result["scenarios"]}
    # weekly: 26 sessions x $30 copay (deductible waived) = $780
    # iop: 24 days x $450 = $10,800: $1,500 deductible + 20% x $9,300 = $1,860; + 18 x $30 = $540
    #      -> $3,900
    # php: 15 x $900 = $13,500: $1,500 + 20% x $12,000 = $2,400; 18 IOP days x $90 = $1,620;
    #      17 x $30 = $510 -> $6,030, capped by the $6,000 out-of-pocket maximum -> $6,000
    assert totals == {"weekly": 78000, "iop": 390000, "php": 600000}
    php = result["scenarios"][2]
    march = php["months"][0]
    assert {"month", "units", "allowed_cents", "member_cost_cents", "plan_paid_cents"} <= set(march)
    # March 2026 from Mon 03-02: PHP Mon-Fri 03-02..03-20 (15 days) + IOP 03-23, 25, 27, 30 (4 days)
    # = 15 x $900 + 4 x $450 = $15,300 allowed; client $3,900 + 4 x $90 = $4,260
    assert (march["units"], march["allowed_cents"], march["member_cost_cents"]) == (19, 1530000, 426000)
    # then April 13 IOP days x $90; May 1 IOP day + 4 sessions x $30; June 5 x $30; July 4 x $30;
    # August: $90 left to the OOP max = 3 sessions (Aug 3, 10, 17), then Aug 24 is $0 (the 26
    # weeks end Sunday 2026-08-30, so there is no Aug 31 session): 4 units, $90.
    assert [m["member_cost_cents"] for m in php["months"]] == [426000, 117000, 21000, 15000, 12000, 9000]
    assert php["months"][-1]["units"] == 4
    assert php["months"][-1]["accumulators"]["oop_remaining_cents"] == 0
    assert php["flags"] and php["assumptions"]


def test_every_bundled_plan_prints_the_comparison(capsys: pytest.CaptureFixture[str]) -> None:
    for plan_id, loaded in load_catalog(PLANS_DIR).plans.items():
        start = loaded.plan.effective.start.isoformat()
        code, out, _ = run_cli(capsys, "estimate", "--plan", plan_id, "--start", start)
        assert code == 0
        assert "Total client cost" in out and "weekly" in out and "php" in out


def test_custom_pathway_is_one_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys,
        "estimate",
        "--plan",
        "harbor-hmo-2026",
        "--start",
        "2026-03-02",
        "--pathway",
        "iop:2",
        "--json",
    )
    assert code == 0
    scenarios = json.loads(out)["scenarios"]
    # 6 IOP days x $50 copay (no deductible, 0% coinsurance) = $300
    assert [(s["name"], s["totals"]["member_cost_cents"]) for s in scenarios] == [("custom", 30000)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--plan", "nope", "--start", "2026-03-02"], "--plan: no plan 'nope'"),
        (["--plan", "harbor-hmo-2026", "--start", "2026-13-01"], "--start: 2026-13-01 is not a date"),
        (["--plan", "harbor-hmo-2026", "--start", "2026-02-30"], "--start: 2026-02-30 is not a date"),
        (["--plan", "harbor-hmo-2026", "--start", "2026-3-2"], "--start: write the date as YYYY-MM-DD"),
        (["--plan", "harbor-hmo-2026", "--start", "2025-03-02"], "--start: 2025-03-02 is outside"),
        (
            ["--plan", "harbor-hmo-2026", "--start", "2026-03-02", "--deductible-met", "-1"],
            "--deductible-met",
        ),
        (["--plan", "harbor-hmo-2026", "--start", "2026-03-02", "--deductible-met", "501"], "more than"),
        (["--plan", "harbor-hmo-2026", "--start", "2026-03-02", "--horizon-weeks", "0"], "--horizon-weeks"),
        (
            ["--plan", "harbor-hmo-2026", "--start", "2026-03-02", "--horizon-weeks", "157"],
            "--horizon-weeks: must be at most 156",  # words, never msgspec's "Expected `int` <= 156"
        ),
        (["--plan", "harbor-hmo-2026", "--start", "2026-03-02", "--pathway", "x:1"], "--pathway: phase 1"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, "estimate", *argv)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_version_and_header_wording(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out == "coverage 0.1.0\n"
    code, out, _ = run_cli(capsys, "estimate", "--plan", "acme-ppo-gold-2026", "--start", "2026-03-02",
                           "--network", "out")
    assert code == 0 and ", out-of-network, MH," in out.splitlines()[0]


def test_parity_exit_code_follows_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    # lakeside's 20-visit MH therapy limit fails parity; acme's cost sharing passes
    assert run_cli(capsys, "parity", "--plan", "lakeside-employer-limit-2026")[0] == 1
    assert run_cli(capsys, "parity", "--plan", "acme-ppo-gold-2026")[0] == 0
