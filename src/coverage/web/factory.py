"""The app factory: one Litestar app from the route modules listed in ROUTE_MODULES."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterable
from pathlib import Path

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from coverage.plans import load_catalog
from coverage.program import ProgramCatalog, load_program
from coverage.settings import DEV_STAFF_KEY, default_plans_dir, default_program_files, staff_api_keys
from coverage.stores.database import Database, open_database
from coverage.web import admissions, api, batch, levels, pages, parity, verifications
from coverage.web.security import quiet_access_log, security_headers
from coverage.web.shared import (
    API_KEY_HEADER,
    EXCEPTION_HANDLERS,
    STATIC_DIR,
    Service,
    StaffAuth,
    provide_catalog,
    provide_gfes,
    provide_program,
    provide_verifications,
    template_config,
)
from coverage.web.throttle import FailureLimiter

# Route modules, each exposing ROUTES. Add your area here, one line.
ROUTE_MODULES = (
    api,  # /health, /plans, /plans/{plan_id}, /estimates
    pages,  # /, /login, /logout, /compare (public), /admissions (staff)
    parity,  # /plans/{plan_id}/parity (JSON), /plans/{plan_id}/parity/report (page)
    levels,  # /levels/recommend (staff): screening -> recommended level of care
    verifications,  # /verifications (JSON), /verifications/{id}/report and /vob (pages)
    batch,  # /batch (staff): CSV of clients in, zip of result CSVs out
    admissions,  # /admissions/verify, /admissions/verifications/{id}, /gfes, /parity, /batch page (staff)
)

log = logging.getLogger("coverage.web")

# /schema renders Swagger UI from the files the swagger-ui-py package ships, served here, so the
# API docs work with no internet (Litestar's default loads them from a CDN).
SCHEMA_ASSETS = "/schema-assets"


def _swagger_ui_dir() -> Path:
    return Path(importlib.util.find_spec("swagger_ui").origin).parent / "static"  # type: ignore[union-attr, arg-type]


def _offline_swagger() -> SwaggerRenderPlugin:
    return SwaggerRenderPlugin(
        path="/",
        js_url=f"{SCHEMA_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{SCHEMA_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{SCHEMA_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{SCHEMA_ASSETS}/favicon-32x32.png'>",
    )


def create_app(
    plans_dir: Path | str | None = None,
    api_keys: Iterable[str] | None = None,
    database: Database | None = None,
    program: ProgramCatalog | None = None,
) -> Litestar:
    """The service over the plans in `plans_dir`; staff keys from `api_keys` or the environment;
    verifications, sessions and issued GFEs in `database`, else the one COVERAGE_DB names (opened
    on first use, closed at shutdown); the program file and payer list `program`, else
    COVERAGE_PROGRAM_FILE and COVERAGE_PAYERS_FILE."""
    if api_keys is None:
        keys, dev_default = staff_api_keys()
    else:
        keys, dev_default = frozenset(api_keys), False
    catalog = load_catalog(plans_dir or default_plans_dir())
    if database is None:
        database = open_database()
    program = program or load_program(*default_program_files())
    staff = StaffAuth(keys, database.sessions)
    service = Service(
        catalog=catalog,
        staff=staff,
        verifications=database.verifications,
        failures=FailureLimiter(),
        program=program,
        gfes=database.gfes,
    )

    def report_configuration() -> None:
        log.info("loaded %d plan(s); %d plan-file error(s)", len(catalog.plans), len(catalog.errors))
        log.info("verifications and sessions in the %s", database.where)
        if catalog.errors:
            log.warning("some plan files did not load; GET /plans lists why")
        for error in program.errors:  # estimates without a plan file answer 422 until it is fixed
            log.error("program file did not load: %s", error)
        if dev_default:
            log.warning(
                "!!! COVERAGE_API_KEYS is not set: staff routes accept the public dev key %r. "
                "Set COVERAGE_API_KEYS before exposing this service to anyone. !!!",
                DEV_STAFF_KEY,
            )

    quiet_access_log()
    route_handlers = [handler for module in ROUTE_MODULES for handler in module.ROUTES]
    return Litestar(
        route_handlers=[
            *route_handlers,
            create_static_files_router(path="/static", directories=[STATIC_DIR]),
            create_static_files_router(
                path=SCHEMA_ASSETS, directories=[_swagger_ui_dir()], include_in_schema=False
            ),
        ],
        state=State({"service": service}),
        dependencies={
            "catalog": Provide(provide_catalog, sync_to_thread=False),
            "verifications": Provide(provide_verifications, sync_to_thread=False),
            "program": Provide(provide_program, sync_to_thread=False),
            "gfes": Provide(provide_gfes, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=template_config(),
        openapi_config=OpenAPIConfig(
            title="coverage",
            version="0.1.0",
            description="Behavioral-health benefit and treatment-cost estimates (see docs/api.md).",
            path="/schema",
            render_plugins=[_offline_swagger()],
            components=Components(
                security_schemes={
                    "staffApiKey": SecurityScheme(
                        type="apiKey", name=API_KEY_HEADER, security_scheme_in="header"
                    )
                }
            ),
        ),
        on_startup=[report_configuration],
        on_shutdown=[database.close],
        before_send=[security_headers],
        logging_config=LoggingConfig(
            configure_root_logger=False,  # leave the root logger to uvicorn (and to pytest's caplog)
            log_exceptions="always",  # a 500's traceback reaches the log...
            disable_stack_trace={*range(400, 500), *EXCEPTION_HANDLERS},  # ...a 4xx's (quoting input) never
            loggers={"coverage": {"level": "INFO", "handlers": ["queue_listener"], "propagate": True}},
        ),
    )
