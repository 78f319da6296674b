"""POST /levels/recommend (staff): the screening rubric's recommended level of care.

A screening aid for admissions staff, not a clinical determination; every answer carries the
disclaimer. Bad answers get 400 naming every bad field and its allowed values (StrictJSON).
"""

from __future__ import annotations

from litestar import post
from litestar.params import JSONBody

from coverage.levels import LevelRecommendation, ScreeningAnswers, recommend_level
from coverage.web.errors import StrictJSON
from coverage.web.shared import StaffController, json_only, staff_errors


class LevelsApi(StaffController):
    path = "/levels"
    tags = ["staff API"]  # noqa: RUF012

    @post(
        "/recommend",
        dto=StrictJSON[ScreeningAnswers],
        return_dto=None,
        status_code=200,
        sync_to_thread=False,
        guards=[json_only],
        responses=staff_errors(415),
    )
    def recommend(self, data: JSONBody[ScreeningAnswers]) -> LevelRecommendation:
        """op / iop / php / refer_higher from the screening answers (docs/levels.md), with reasons."""
        return recommend_level(data)


ROUTES = [LevelsApi]
