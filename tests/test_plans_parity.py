"""The plan file's [parity] section is validated as strictly as the rest: located errors."""

from __future__ import annotations

import pytest
from tests.conftest import make_plan

from coverage.plans import PlanError, PlanFileError

BODY = """
[accumulators.in_network]
deductible_individual = "1000.00"

[benefits.mh_office.in_network]
allowed = "100.00"
copay = "20.00"
coinsurance = "0%"
deductible_applies = false
"""


def errors_of(parity: str) -> list[PlanError]:
    with pytest.raises(PlanFileError) as raised:
        make_plan(BODY + parity)
    return raised.value.errors


def located(parity: str) -> list[tuple[str, str, str | None]]:
    return [(error.file, error.key_path, error.value) for error in errors_of(parity)]


def test_a_good_section_loads_with_typed_levels() -> None:
    plan = make_plan(
        BODY
        + """
[parity.medsurg.outpatient_in_network]
total = "1000.00"
copay = { "10.00" = "200.00", "$20" = "300.00" }
coinsurance = { "12.5%" = "100.00" }
visit_limit = { "30" = "50.00" }
prior_auth = true
"""
    ).plan
    assert plan.parity is not None
    data = plan.parity.medsurg.outpatient_in_network
    assert data is not None
    assert data.total_cents == 1000_00
    assert [(int(level), payments) for level, payments in data.levels("copay")] == [
        (10_00, 200_00),
        (20_00, 300_00),
    ]
    assert [(str(level), payments) for level, payments in data.levels("coinsurance")] == [("12.5%", 100_00)]
    assert data.levels("visit_limit") == [(30, 50_00)]
    assert data.prior_auth and not data.concurrent_review


def test_levels_summing_past_total() -> None:
    # 600.00 + 500.00 = 1,100.00 > the 1,000.00 total
    errors = errors_of(
        """
[parity.medsurg.outpatient_in_network]
total = "1000.00"
copay = { "10.00" = "600.00", "20.00" = "500.00" }
"""
    )
    assert [(e.file, e.key_path, e.value) for e in errors] == [
        ("test-plan.toml", "parity.medsurg.outpatient_in_network.copay", "sum 1100.00 > total 1000.00")
    ]
    assert "levels sum to more than total" in errors[0].message


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        ("copay", "ten", 'money must look like "450.00"'),
        ("copay", "0.00", "a zero copay level counts as not subject to copay"),
        ("copay", "10.001", "more than two decimal places"),
        ("coinsurance", "20", 'a percentage must be a string such as "20%"'),
        ("coinsurance", "120%", "between 0% and 100%"),
        ("coinsurance", "0%", "a zero coinsurance level"),
        ("visit_limit", "0", "a visit or day limit must be a whole number"),
        ("visit_limit", "thirty", "a visit or day limit must be a whole number"),
    ],
)
def test_bad_level_keys_are_named(table: str, key: str, message: str) -> None:
    errors = errors_of(
        f"""
[parity.medsurg.outpatient_in_network]
total = "1000.00"
{table} = {{ "{key}" = "100.00" }}
"""
    )
    assert [(e.key_path, e.value) for e in errors] == [
        (f'parity.medsurg.outpatient_in_network.{table}."{key}"', repr(key))
    ]
    assert message in errors[0].message
    assert str(errors[0]).startswith(
        f'test-plan.toml: parity.medsurg.outpatient_in_network.{table}."{key}": '
    )


def test_the_same_level_spelled_twice() -> None:
    assert located(
        """
[parity.medsurg.outpatient_in_network]
total = "1000.00"
copay = { "10" = "100.00", "10.00" = "100.00" }
"""
    ) == [("test-plan.toml", 'parity.medsurg.outpatient_in_network.copay."10.00"', "'10.00'")]


def test_a_level_without_payments() -> None:
    assert located(
        """
[parity.medsurg.outpatient_in_network]
total = "1000.00"
visit_limit = { "30" = "0.00" }
"""
    ) == [("test-plan.toml", 'parity.medsurg.outpatient_in_network.visit_limit."30"', '"0.00"')]


def test_bad_payment_value_is_located_by_msgspec() -> None:
    (error,) = errors_of(
        """
[parity.medsurg.outpatient_in_network]
total = "1000.00"
copay = { "10.00" = "-5.00" }
"""
    )
    # msgspec names dict entries "[...]"; the message carries the bad value
    assert error.key_path == "parity.medsurg.outpatient_in_network.copay[...]"
    assert "money must not be negative, got '-5.00'" in error.message


@pytest.mark.parametrize(
    ("parity", "key_path"),
    [
        (
            '[parity.medsurg.outpatient_in_network]\ntotal = "10.00"\ncopays = {}\n',
            "parity.medsurg.outpatient_in_network.copays",
        ),
        (
            '[parity.medsurg.outpatient_inn_network]\ntotal = "10.00"\n',
            "parity.medsurg.outpatient_inn_network",
        ),
        ("[parity]\nseparate_deductible = true\n[parity.medsurg]\n", "parity.separate_deductible"),
        ("[parity]\nseparate_mhsud_deductible = true\n", "parity.medsurg"),
        ('[parity.medsurg.emergency]\ncopay = { "10.00" = "1.00" }\n', "parity.medsurg.emergency.total"),
    ],
)
def test_unknown_and_missing_keys(parity: str, key_path: str) -> None:
    (error,) = errors_of(parity)
    assert error.key_path == key_path


def test_zero_total() -> None:
    assert located('[parity.medsurg.emergency]\ntotal = "0.00"\n') == [
        ("test-plan.toml", "parity.medsurg.emergency.total", '"0.00"')
    ]


def test_outpatient_split_must_be_whole_and_not_mixed() -> None:
    errors = errors_of(
        """
[parity.medsurg.outpatient_in_network]
total = "1000.00"
[parity.medsurg.outpatient_in_network_office]
total = "1000.00"
"""
    )
    assert [e.key_path for e in errors] == [
        "parity.medsurg.outpatient_in_network_office",
        "parity.medsurg.outpatient_in_network_all_other",
    ]
    assert "cannot be used together with [parity.medsurg.outpatient_in_network]" in errors[0].message
    assert "is missing" in errors[1].message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("outpatient_out_of_network_all_other", "name the in-network classification"),
        ("outpatient_in_network", "splits this into _office and _all_other"),
    ],
)
def test_category_override_rules(value: str, message: str) -> None:
    errors = errors_of(
        f"""
[parity.mhsud_classification]
mh_iop = "{value}"
[parity.medsurg.outpatient_in_network_office]
total = "1000.00"
[parity.medsurg.outpatient_in_network_all_other]
total = "1000.00"
"""
    )
    assert [(e.key_path, e.value) for e in errors] == [("parity.mhsud_classification.mh_iop", repr(value))]
    assert message in errors[0].message


def test_category_override_must_be_a_classification() -> None:
    (error,) = errors_of('[parity.mhsud_classification]\nmh_iop = "day_program"\n[parity.medsurg]\n')
    assert (error.key_path, error.value) == ("parity.mhsud_classification.mh_iop", "'day_program'")
    assert "Invalid enum value 'day_program'" in error.message


def test_all_errors_of_a_section_are_reported_together() -> None:
    errors = errors_of(
        """
[parity.medsurg.inpatient_in_network]
total = "100.00"
copay = { "abc" = "10.00" }
coinsurance = { "20%" = "60.00", "30%" = "50.00" }
"""
    )
    assert [e.key_path for e in errors] == [
        'parity.medsurg.inpatient_in_network.copay."abc"',
        "parity.medsurg.inpatient_in_network.coinsurance",
    ]
