"""The 271 as the clearinghouse's JSON: only the parts the mapping reads (msgspec, camelCase)."""

from __future__ import annotations

from decimal import Decimal

from msgspec import Struct


class ServiceDelivery(Struct, rename="camel"):
    quantity: Decimal | None = None
    quantity_qualifier_code: str | None = None
    time_period_qualifier_code: str | None = None
    num_of_periods: Decimal | None = None


class BenefitEntry(Struct, rename="camel"):
    code: str
    service_type_codes: list[str] = []
    coverage_level_code: str | None = None
    time_qualifier_code: str | None = None
    benefit_amount: Decimal | None = None
    benefit_percent: Decimal | None = None
    benefit_quantity: Decimal | None = None
    quantity_qualifier_code: str | None = None
    in_plan_network_indicator_code: str | None = None
    auth_or_cert_indicator: str | None = None
    benefits_service_delivery: list[ServiceDelivery] = []
    plan_coverage: str | None = None


class PayerError(Struct, rename="camel"):
    code: str | None = None
    description: str | None = None
    followup_action: str | None = None
    field: str | None = None
    location: str | None = None


class PlanDates(Struct, rename="camel"):
    plan: str | None = None
    plan_begin: str | None = None
    plan_end: str | None = None
    eligibility_begin: str | None = None
    eligibility_end: str | None = None


class TraceNumber(Struct, rename="camel"):
    reference_identification: str | None = None
    trace_type_code: str | None = None


class ResponseMeta(Struct, rename="camel"):
    trace_id: str | None = None


class Payer(Struct, rename="camel"):
    name: str | None = None


class Response271(Struct, rename="camel"):
    benefits_information: list[BenefitEntry] | None = None
    errors: list[PayerError] = []
    plan_date_information: PlanDates | None = None
    subscriber_trace_numbers: list[TraceNumber] = []
    meta: ResponseMeta | None = None
    payer: Payer | None = None

