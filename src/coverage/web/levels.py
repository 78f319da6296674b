"""POST /levels/recommend (staff): the screening rubric's recommended level of care.

A screening aid for admissions staff, not a clinical determination; every answer carries the
disclaimer. Bad answers get 400 naming every bad field and its allowed values (StrictJSON).
"""

from __future__ import annotations

from litestar.params import JSONBody

from coverage.screening.answers import ScreeningAnswers
from coverage.screening.rubric import LevelRecommendation, recommend_level
from coverage.web.shared import StaffController, json_post


class LevelsApi(StaffController):
    path = "/levels"
    tags = ["staff API"]  # noqa: RUF012

    @json_post("/recommend", ScreeningAnswers, sync_to_thread=False)
    def recommend(self, data: JSONBody[ScreeningAnswers]) -> LevelRecommendation:
        """op / iop / php / refer_higher from the screening answers (docs/levels.md), with reasons."""
        return recommend_level(data)


ROUTES = [LevelsApi]
