"""The one error model for input a caller can fix, shared by every module.

A `Problem` is one broken rule: the field (request field, CSV column, form field or option)
and the rule in words. `InputError` carries one or more of them; `NotFound` is the kind whose
input names something that does not exist (a plan, a verification, a plan's parity data).
The web service answers both with one handler (`{"errors": [problem, ...]}`, 422 or 404),
the CLI with one handler (exit 2, one line naming the option), and a batch row with error
rows, so a rule is said the same way wherever it is broken.
"""

from __future__ import annotations

from collections.abc import Iterable

from msgspec import Struct


class Problem(Struct, frozen=True):
    """One broken rule; `field` names what broke it (None: the input as a whole)."""

    field: str | None
    message: str

    def __str__(self) -> str:
        return self.message if self.field is None else f"{self.field}: {self.message}"


class InputError(ValueError):
    """Input that breaks one or more rules; every problem is reported at once."""

    def __init__(self, problems: Iterable[Problem], summary: str | None = None) -> None:
        """`summary`: the whole in one sentence, when listing the problems would say it worse."""
        self.problems = list(problems)
        assert self.problems, "an InputError names at least one problem"
        super().__init__(summary or "; ".join(str(problem) for problem in self.problems))

    @classmethod
    def at(cls, field: str | None, message: str) -> InputError:
        """The error of one problem."""
        return cls([Problem(field, message)])

    @property
    def field(self) -> str | None:
        """The first problem's field (a one-line CLI message names it)."""
        return self.problems[0].field

    @property
    def message(self) -> str:
        return self.problems[0].message


class NotFound(InputError):
    """The input names something that does not exist (web: 404)."""


def unknown_plan(plan_id: str) -> NotFound:
    return NotFound.at("plan_id", f"no plan with id {plan_id!r} is loaded")
