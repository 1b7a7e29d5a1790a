"""Builds the face_auth web app: settings, lifespan (database server), routers, error mapping.

Run with `python app.py` (or `face-auth serve`).
"""

import asyncio
import contextlib
import functools
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CollectorRegistry
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware

from controller import app_controller, auth_controller
from controller.api_docs import install_api_docs
from controller.body_limit import BodySizeLimit, request_body_limits
from controller.cookies import CookieTransport
from controller.csrf import CsrfTokens, ensure_csrf_cookie, verify_csrf
from controller.error_docs import document_error_responses
from controller.errors import install_error_handlers
from controller.face_runner import BoundedRunner
from controller.metrics import PrometheusObserver, time_requests
from controller.metrics import router as metrics_router
from controller.oidc import FaceAuthServer
from controller.oidc import router as oidc_router
from controller.security_headers import SecurityHeaders
from controller.worker_pool import WorkerPool
from face_auth import __version__
from face_auth.business_val import ReadinessCheck
from face_auth.config import Settings
from face_auth.constant import DetectorRuntime, EmbedderKind, LandmarkRuntime
from face_auth.data_access import DatabaseSupervisor, connect
from face_auth.face_pipeline import FaceModels, load_models
from face_auth.logger import configure_logging, get_logger, log_event
from face_auth.model_store import ModelsMissingError, require_installed_models
from face_auth.utils.memory import limit_malloc_arenas
from face_auth.wiring import database_supervisor, pipeline_config, serving_services, session_secret

# pipeline_config: the pipeline as the app runs it, for the tests and tools that embed frames.
__all__ = ["create_app", "load_face_models", "main", "pipeline_config"]

ROOT = Path(__file__).resolve().parent
logger = get_logger("face_auth.app")


@functools.cache
def load_face_models(
    models_dir: Path,
    intra_op_threads: int,
    engine: EmbedderKind,
    int8: bool,
    landmark_runtime: LandmarkRuntime,
    detector_runtime: DetectorRuntime,
) -> FaceModels:
    """The process's one copy of MTCNN and FaceNet (the only module-level state we keep).
    Raises ModelsMissingError, naming `face-auth models install`, when weights are absent."""
    return load_models(
        models_dir.resolve(), engine=engine, intra_op_threads=intra_op_threads or None,
        int8=int8, landmark_runtime=landmark_runtime, detector_runtime=detector_runtime,
    )  # fmt: skip


async def start_models_and_database(
    settings: Settings, supervisor: DatabaseSupervisor | None
) -> tuple[FaceModels, str]:
    """The face models and the embedded database (when there is one), side by side: each
    takes about half a second, and start-up to /readyz is their longer, not their sum
    (docs/performance.md). When the models fail to load, the database is stopped again."""
    database_start = (
        asyncio.ensure_future(run_in_threadpool(supervisor.start)) if supervisor else None
    )
    try:
        models = await run_in_threadpool(
            load_face_models,
            settings.models_dir,
            settings.tf_intra_op_threads,
            settings.face_embedder,
            settings.face_embedder_int8,
            settings.face_landmark_runtime,
            settings.face_detector_runtime,
        )
    except BaseException:
        if database_start is not None and supervisor is not None:
            with contextlib.suppress(Exception):
                await database_start
            await run_in_threadpool(supervisor.stop)
        raise
    if database_start is not None:
        return models, await database_start
    assert settings.mongodb_uri is not None
    return models, settings.mongodb_uri.get_secret_value()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    supervisor = database_supervisor(settings) if settings.mongodb_uri is None else None
    models, uri = await start_models_and_database(settings, supervisor)
    database = connect(uri, settings.database_name, settings.db_timeout_ms)
    try:
        await run_in_threadpool(database.ensure_indexes, settings.audit_retention_days)
        services = await run_in_threadpool(
            serving_services, settings, database, models, app.state.metrics
        )
        app.state.tokens = services.tokens
        app.state.csrf = CsrfTokens(await run_in_threadpool(session_secret, settings))
        app.state.accounts = services.accounts
        app.state.faces = services.faces
        app.state.personal_data = services.personal_data
        app.state.email_links = services.email_links
        app.state.identify = services.identify
        app.state.password_pool = WorkerPool(
            settings.password_workers,
            settings.password_queue_limit,
            settings.password_queue_wait_seconds,
        )
        app.state.face_runner = BoundedRunner(settings.face_workers, settings.face_queue_limit)
        app.state.metrics.track_runner(app.state.face_runner)
        app.state.readiness = ReadinessCheck(database, models, supervisor)
        app.state.oidc = services.oidc
        app.state.oauth_server = FaceAuthServer(services.oidc, services.signing_keys)
        build_route_tables(app)
        log_event(logger, "app_started", version=__version__, embedded_db=supervisor is not None)
        yield
    finally:
        if hasattr(app.state, "email_links"):
            await run_in_threadpool(app.state.email_links.close)
        database.close()
        if supervisor is not None:
            await run_in_threadpool(supervisor.stop)
        log_event(logger, "app_stopped")


def build_route_tables(app: FastAPI) -> None:
    """Have FastAPI build every included router's route table now. It builds each one on
    the first request that reaches it, in the event loop (~55 ms for all of them), so the
    first sign-in after a start paid it (docs/performance.md). A path no route matches
    walks every table."""
    scope = {"type": "http", "method": "GET", "path": "/\0", "root_path": "", "headers": []}
    for route in app.router.routes:
        route.matches(scope)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)
    limit_malloc_arenas(settings.malloc_arenas)
    app = FastAPI(
        title="face_auth",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.api_docs else None,
        dependencies=[Depends(verify_csrf)],
    )
    app.state.settings = settings
    app.state.cookies = CookieTransport(settings)
    app.state.metrics = PrometheusObserver(CollectorRegistry())
    app.state.templates = Jinja2Templates(directory=ROOT / "templates")
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    # Innermost, so its error is raised straight into the route that reads the body.
    app.add_middleware(BodySizeLimit, limit_for=request_body_limits(settings))
    app.middleware("http")(ensure_csrf_cookie)
    app.middleware("http")(time_requests)
    app.add_middleware(SecurityHeaders)
    # Outermost: a request for another Host is refused before anything reads it.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
    install_error_handlers(app)
    if settings.api_docs:
        install_api_docs(app)
    for router in (
        app_controller.health_router,
        metrics_router,
        app_controller.pages_router,
        app_controller.api_router,
        auth_controller.pages_router,
        auth_controller.api_router,
        auth_controller.face_api_router,
        auth_controller.face_pages_router,
        auth_controller.identify_router,
        auth_controller.email_pages_router,
        auth_controller.email_api_router,
        oidc_router,
    ):
        document_error_responses(router)
        app.include_router(router)
    return app


def main() -> None:
    settings = Settings()
    try:
        require_installed_models(
            settings.models_dir,
            onnx=settings.face_embedder == "onnx",
            int8=settings.face_embedder_int8,
        )
    except ModelsMissingError as error:
        sys.exit(f"face_auth: {error}")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        **proxy_options(settings),
    )


def proxy_options(settings: Settings) -> dict[str, object]:
    """uvicorn believes X-Forwarded-* only from the configured proxies: never by default (its
    own default trusts loopback, or FORWARDED_ALLOW_IPS from the environment)."""
    trusted = settings.forwarded_allow_ips.strip()
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or ""}


if __name__ == "__main__":
    main()
