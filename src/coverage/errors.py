"""Errors a caller can fix, shared by the core modules; web and CLI turn them into 4xx / exit 2."""

from __future__ import annotations


class EstimateInputError(ValueError):
    """A request value that breaks a rule; `field` names it for the 4xx body or CLI message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownPlanError(LookupError):
    def __init__(self, plan_id: str) -> None:
        super().__init__(f"plan_id: no plan with id {plan_id!r} is loaded")
        self.plan_id = plan_id
