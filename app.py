"""Builds the face_auth web app: settings, lifespan (database server), routers, error mapping.

Run with `python app.py` (or `face-auth serve`).
"""

import functools
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import uvicorn
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CollectorRegistry
from starlette.concurrency import run_in_threadpool

from controller import app_controller, auth_controller
from controller.csrf import ensure_csrf_cookie
from controller.deps import verify_csrf
from controller.errors import install_error_handlers
from controller.face_runner import BoundedRunner
from controller.metrics import PrometheusObserver, time_requests
from controller.metrics import router as metrics_router
from face_auth import __version__
from face_auth.business_val import (
    AccountService,
    LockoutPolicy,
    PasswordHasher,
    ReadinessCheck,
    TokenService,
)
from face_auth.business_val.face import FacePolicy, FaceService
from face_auth.config import Settings, load_or_create_secret
from face_auth.data_access import (
    AuditRepository,
    EmbeddedMongoServer,
    EmbeddingRepository,
    LoginAttemptRepository,
    SessionRepository,
    UserRepository,
    connect,
)
from face_auth.face_pipeline import FaceModels, PipelineConfig, load_models
from face_auth.logger import configure_logging, get_logger, log_event
from face_auth.model_store import ModelsMissingError, require_models

ROOT = Path(__file__).resolve().parent
logger = get_logger("face_auth.app")


@functools.cache
def load_face_models(models_dir: Path, intra_op_threads: int) -> FaceModels:
    """The process's one copy of MTCNN and FaceNet (the only module-level state we keep).
    Raises ModelsMissingError, naming `face-auth models install`, when weights are absent."""
    return load_models(models_dir.resolve(), intra_op_threads=intra_op_threads or None)


def pipeline_config(settings: Settings) -> PipelineConfig:
    return PipelineConfig(
        max_bytes=settings.face_max_frame_bytes,
        max_pixels=settings.face_max_frame_pixels,
    )


def face_policy(settings: Settings) -> FacePolicy:
    return FacePolicy(
        frames=settings.face_frames,
        enroll_min_frames=settings.face_enroll_min_frames,
        verify_min_frames=settings.face_verify_min_frames,
        match_threshold=settings.face_match_threshold,
        max_failures=settings.face_max_failures,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # Fail fast, before starting anything, when the weights are not installed.
    models = await run_in_threadpool(
        load_face_models, settings.models_dir, settings.tf_intra_op_threads
    )
    embedded: EmbeddedMongoServer | None = None
    if settings.mongodb_uri is None:
        embedded = EmbeddedMongoServer(settings.db_path, settings.embedded_db_startup_seconds)
        uri = await run_in_threadpool(embedded.start)
    else:
        uri = settings.mongodb_uri.get_secret_value()
    database = connect(uri, settings.database_name, settings.db_timeout_ms)
    try:
        await run_in_threadpool(database.ensure_indexes, settings.audit_retention_days)
        secret = (
            settings.jwt_secret.get_secret_value()
            if settings.jwt_secret
            else load_or_create_secret(settings.secret_path)
        )
        tokens = TokenService(secret, settings.jwt_algorithm, SessionRepository(database))
        embeddings = EmbeddingRepository(database)
        audit = AuditRepository(database)
        accounts = AccountService(
            users=UserRepository(database),
            embeddings=embeddings,
            audit=audit,
            attempts=LoginAttemptRepository(database),
            lockout=LockoutPolicy(
                max_failures=settings.login_max_failures,
                window=timedelta(minutes=settings.login_failure_window_minutes),
                lock_for=timedelta(minutes=settings.login_lockout_minutes),
            ),
            hasher=await run_in_threadpool(PasswordHasher, settings.bcrypt_rounds),
            tokens=tokens,
            password_token_lifetime=timedelta(minutes=settings.password_token_minutes),
            session_token_lifetime=timedelta(minutes=settings.session_token_minutes),
            observer=app.state.metrics,
        )
        app.state.tokens = tokens
        app.state.accounts = accounts
        app.state.faces = FaceService(
            models=models,
            pipeline=pipeline_config(settings),
            policy=face_policy(settings),
            embeddings=embeddings,
            audit=audit,
            accounts=accounts,
            tokens=tokens,
            observer=app.state.metrics,
        )
        app.state.face_runner = BoundedRunner(settings.face_workers, settings.face_queue_limit)
        app.state.metrics.track_runner(app.state.face_runner)
        app.state.readiness = ReadinessCheck(database, models)
        app.state.embedded_db = embedded
        log_event(logger, "app_started", version=__version__, embedded_db=embedded is not None)
        yield
    finally:
        database.close()
        if embedded is not None:
            await run_in_threadpool(embedded.stop)
        log_event(logger, "app_stopped")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="face_auth",
        version=__version__,
        lifespan=lifespan,
        dependencies=[Depends(verify_csrf)],
    )
    app.state.settings = settings
    app.state.metrics = PrometheusObserver(CollectorRegistry())
    app.state.templates = Jinja2Templates(directory=ROOT / "templates")
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    app.middleware("http")(ensure_csrf_cookie)
    app.middleware("http")(time_requests)
    install_error_handlers(app)
    for router in (
        app_controller.health_router,
        metrics_router,
        app_controller.pages_router,
        app_controller.api_router,
        auth_controller.pages_router,
        auth_controller.api_router,
        auth_controller.face_api_router,
    ):
        app.include_router(router)
    return app


def main() -> None:
    settings = Settings()
    try:
        require_models(settings.models_dir)
    except ModelsMissingError as error:
        sys.exit(f"face_auth: {error}")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)


if __name__ == "__main__":
    main()
