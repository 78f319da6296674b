"""JSON API: health (public), plans and estimates (staff). Thin calls into the core."""

from __future__ import annotations

from typing import Any, Literal

import anyio.to_thread
from litestar import get
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from msgspec import Struct

from coverage.errors import unknown_plan
from coverage.estimate import Estimate, EstimateRequest, estimate
from coverage.plans import Effective, PlanCatalog, PlanError, PlanKind, plan_to_builtins
from coverage.program import ProgramCatalog
from coverage.stores import VerificationStore
from coverage.web.shared import Catalog, Service, StaffController, json_post, staff_errors


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


def run_estimate(
    catalog: PlanCatalog, request: EstimateRequest, store: VerificationStore, program: ProgramCatalog
) -> Estimate:
    """The core estimate, with the verification record the request names read from the store
    (blocking: call it in a worker thread)."""
    record = store.get(request.verification_id) if request.verification_id is not None else None
    return estimate(catalog, request, record, program.program)


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
            raise unknown_plan(plan_id)
        return plan_to_builtins(loaded.plan)

    @json_post("/estimates", EstimateRequest, 404, 422)
    async def create_estimate(self, state: State, data: JSONBody[EstimateRequest]) -> Estimate:
        """Weekly / IOP / PHP comparison (or one custom pathway), as `coverage estimate --json`.
        Without `plan_id`: from `verification_id` alone (or `self_pay`) at the program's rates."""
        # The service straight from the app state: three injected dependencies would cost a task
        # group on every request of the busiest route.
        service: Service = state.service
        catalog, program = service.catalog, service.program
        if data.verification_id is None:  # no database call: priced on the event loop
            return estimate(catalog, data, None, program.program)
        return await anyio.to_thread.run_sync(run_estimate, catalog, data, service.verifications, program)


ROUTES = [health, StaffApi]
