"""JSON API: health (public), plans and estimates (staff). Thin calls into the core."""

from __future__ import annotations

from typing import Any, Literal

from litestar import get, post
from litestar.params import FromPath, JSONBody
from msgspec import Struct

from coverage.estimate import Estimate, EstimateRequest, UnknownPlanError, estimate
from coverage.plans import Effective, PlanCatalog, PlanError, PlanKind, plan_to_builtins
from coverage.web.errors import StrictJSON
from coverage.web.shared import Catalog, StaffController, json_only, staff_errors
from coverage.web.verifications import vob_store


class Health(Struct, kw_only=True):
    status: Literal["ok"] = "ok"
    plans_loaded: int
    plan_file_errors: int


class PlanSummary(Struct, kw_only=True):
    id: str
    name: str
    payer: str
    kind: PlanKind
    effective: Effective
    sample_data: bool
    file: str


class PlanList(Struct, kw_only=True):
    plans: list[PlanSummary]
    errors: list[PlanError]  # plan files that did not load, each with key path and reason


def run_estimate(catalog: PlanCatalog, request: EstimateRequest) -> Estimate:
    """The core estimate; the verification store is opened only when the request names a record."""
    return estimate(catalog, request, vob_store() if request.verification_id is not None else None)


@get("/health", sync_to_thread=False, tags=["service"])
def health(catalog: Catalog) -> Health:
    return Health(plans_loaded=len(catalog.plans), plan_file_errors=len(catalog.errors))


class StaffApi(StaffController):
    tags = ["staff API"]  # noqa: RUF012

    @get("/plans", sync_to_thread=False, responses=staff_errors())
    def list_plans(self, catalog: Catalog) -> PlanList:
        """Every loaded plan, plus the located errors of plan files that failed to load."""
        return PlanList(
            plans=[
                PlanSummary(
                    id=loaded.plan.id,
                    name=loaded.plan.name,
                    payer=loaded.plan.payer,
                    kind=loaded.plan.kind,
                    effective=loaded.plan.effective,
                    sample_data=loaded.plan.sample_data,
                    file=loaded.file,
                )
                for loaded in catalog.plans.values()
            ],
            errors=catalog.errors,
        )

    @get("/plans/{plan_id:str}", sync_to_thread=False, responses=staff_errors(404))
    def show_plan(self, catalog: Catalog, plan_id: FromPath[str]) -> dict[str, Any]:
        """The validated plan in plan-file shape (dollars and percentages as strings)."""
        loaded = catalog.get(plan_id)
        if loaded is None:
            raise UnknownPlanError(plan_id)
        return plan_to_builtins(loaded.plan)

    @post(
        "/estimates",
        dto=StrictJSON[EstimateRequest],
        return_dto=None,
        status_code=200,
        sync_to_thread=False,
        guards=[json_only],
        responses=staff_errors(404, 415, 422),
    )
    def create_estimate(self, catalog: Catalog, data: JSONBody[EstimateRequest]) -> Estimate:
        """Weekly / IOP / PHP comparison (or one custom pathway), as `coverage estimate --json`."""
        return run_estimate(catalog, data)


ROUTES = [health, StaffApi]
