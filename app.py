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
from face_auth.business_val import (
    AccountService,
    PasswordHasher,
    ReadinessCheck,
    TokenService,
)
from face_auth.business_val.face import FacePolicy, FaceService
from face_auth.business_val.identify import identify_service
from face_auth.business_val.liveness import (
    LivenessMode,
    LivenessPolicy,
    LivenessService,
    parse_actions,
)
from face_auth.business_val.lockout import FaceAttemptLimiter, FaceHoldPolicy
from face_auth.business_val.observer import AuthObserver
from face_auth.business_val.oidc import oidc_policy, oidc_revocation, oidc_service
from face_auth.business_val.one_time_codes import OneTimeCodes
from face_auth.business_val.password_lockout import LockoutPolicy, PasswordLockout
from face_auth.business_val.personal_data import AccountEraser, PersonalDataService
from face_auth.business_val.recent_auth import RecentAuthPolicy
from face_auth.business_val.signing_keys import SigningKeys
from face_auth.business_val.template_protection import protect_templates
from face_auth.config import Settings, load_or_create_secret, template_master_keys
from face_auth.constant import EmbedderKind
from face_auth.data_access import (
    AuditRepository,
    DatabaseSupervisor,
    DataKeyRepository,
    EmbeddingRepository,
    LoginAttemptRepository,
    SessionRepository,
    TemplateCipher,
    UserRepository,
    connect,
)
from face_auth.data_access.database import Database
from face_auth.data_access.face_attempt_repository import FaceAttemptRepository
from face_auth.data_access.liveness_repository import ChallengeRepository, FrameHashRepository
from face_auth.data_access.recovery_code_repository import RecoveryCodeRepository
from face_auth.face_pipeline import FaceModels, PipelineConfig, load_models
from face_auth.face_pipeline.liveness import LivenessConfig
from face_auth.logger import configure_logging, get_logger, log_event
from face_auth.model_store import ModelsMissingError, require_installed_models
from face_auth.utils.memory import limit_malloc_arenas

ROOT = Path(__file__).resolve().parent
logger = get_logger("face_auth.app")


@functools.cache
def load_face_models(models_dir: Path, intra_op_threads: int, engine: EmbedderKind) -> FaceModels:
    """The process's one copy of MTCNN and FaceNet (the only module-level state we keep).
    Raises ModelsMissingError, naming `face-auth models install`, when weights are absent."""
    return load_models(
        models_dir.resolve(), engine=engine, intra_op_threads=intra_op_threads or None
    )


def pipeline_config(settings: Settings) -> PipelineConfig:
    return PipelineConfig.from_settings(settings)


def face_policy(settings: Settings) -> FacePolicy:
    return FacePolicy(
        frames=settings.face_frames,
        enroll_min_frames=settings.face_enroll_min_frames,
        verify_min_frames=settings.face_verify_min_frames,
        match_threshold=settings.face_match_threshold,
        max_failures=settings.face_max_failures,
        first_enroll_window=timedelta(hours=settings.face_first_enroll_hours),
        capture_frames=face_capture_frames(settings),
    )


def face_capture_frames(settings: Settings) -> int:
    """Frames a request may carry: more than face_frames only when a challenge asks for a
    head movement (some frames are then turned away)."""
    if settings.liveness == LivenessMode.CHALLENGE:
        return max(settings.face_frames, settings.face_capture_frames)
    return settings.face_frames


def liveness_policy(settings: Settings) -> LivenessPolicy:
    return LivenessPolicy(
        mode=LivenessMode(settings.liveness),
        actions=parse_actions(settings.liveness_actions),
        challenge_lifetime=timedelta(seconds=settings.liveness_challenge_seconds),
        replay_window=timedelta(hours=settings.liveness_replay_hours),
        capture_frames=face_capture_frames(settings),
        max_challenges=settings.liveness_max_challenges,
        checks=LivenessConfig.from_settings(settings),
    )


def face_hold_policy(settings: Settings) -> FaceHoldPolicy:
    return FaceHoldPolicy(
        max_failures=settings.face_account_max_failures,
        first_hold=timedelta(seconds=settings.face_hold_seconds),
        max_hold=timedelta(seconds=settings.face_hold_max_seconds),
    )


def face_service(
    settings: Settings,
    database: Database,
    models: FaceModels,
    embeddings: EmbeddingRepository,
    accounts: AccountService,
    tokens: TokenService,
    observer: AuthObserver,
) -> FaceService:
    audit = AuditRepository(database)
    return FaceService(
        models=models,
        pipeline=pipeline_config(settings),
        policy=face_policy(settings),
        embeddings=embeddings,
        users=UserRepository(database),
        sessions=SessionRepository(database),
        audit=audit,
        accounts=accounts,
        tokens=tokens,
        limiter=FaceAttemptLimiter(
            face_hold_policy(settings), FaceAttemptRepository(database), audit, observer
        ),
        codes=OneTimeCodes(
            RecoveryCodeRepository(database), audit, settings.recovery_codes, observer
        ),
        observer=observer,
        liveness=LivenessService(
            liveness_policy(settings),
            ChallengeRepository(database),
            FrameHashRepository(database),
            audit,
            observer,
        ),
    )


def lockout_policy(settings: Settings) -> LockoutPolicy:
    return LockoutPolicy(
        max_failures=settings.login_max_failures,
        client_max_failures=settings.login_client_max_failures,
        registrations_per_client=settings.registrations_per_client,
        window=timedelta(minutes=settings.login_failure_window_minutes),
        first_hold=timedelta(seconds=settings.login_first_hold_seconds),
        max_hold=timedelta(minutes=settings.login_max_hold_minutes),
    )


def protected_embeddings(
    settings: Settings, database: Database, audit: AuditRepository
) -> EmbeddingRepository:
    """The templates' repository, encrypting under per-user data keys; first re-wraps data
    keys under the current master key and encrypts plaintext templates (idempotent)."""
    current, previous = template_master_keys(settings)
    cipher = TemplateCipher(current, previous, DataKeyRepository(database))
    embeddings = EmbeddingRepository(database, cipher)
    protect_templates(cipher, embeddings, audit)
    return embeddings


def personal_data_service(
    database: Database, embeddings: EmbeddingRepository, accounts: AccountService
) -> PersonalDataService:
    audit = AuditRepository(database)
    recovery_codes = RecoveryCodeRepository(database)
    eraser = AccountEraser(database, embeddings)
    codes = OneTimeCodes(recovery_codes, audit, recovery_code_count=0)
    return PersonalDataService(
        accounts=accounts, eraser=eraser, embeddings=embeddings, codes=codes, audit=audit
    )


def database_supervisor(settings: Settings) -> DatabaseSupervisor:
    return DatabaseSupervisor(
        settings.db_path,
        startup_timeout=settings.embedded_db_startup_seconds,
        max_quick_failures=settings.embedded_db_max_restarts,
        failure_window=settings.embedded_db_restart_window_seconds,
        restart_delay=settings.embedded_db_restart_delay_seconds,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # Fail fast, before starting anything, when the weights are not installed.
    models = await run_in_threadpool(
        load_face_models,
        settings.models_dir,
        settings.tf_intra_op_threads,
        settings.face_embedder,
    )
    supervisor: DatabaseSupervisor | None = None
    if settings.mongodb_uri is None:
        supervisor = database_supervisor(settings)
        uri = await run_in_threadpool(supervisor.start)
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
        tokens = TokenService(
            secret, settings.jwt_algorithm, SessionRepository(database), oidc_revocation(database)
        )
        audit = AuditRepository(database)
        embeddings = await run_in_threadpool(protected_embeddings, settings, database, audit)
        accounts = AccountService(
            users=UserRepository(database),
            embeddings=embeddings,
            audit=audit,
            lockout=PasswordLockout(lockout_policy(settings), LoginAttemptRepository(database)),
            hasher=await run_in_threadpool(PasswordHasher, settings.bcrypt_rounds),
            tokens=tokens,
            password_token_lifetime=timedelta(minutes=settings.password_token_minutes),
            session_token_lifetime=timedelta(minutes=settings.session_token_minutes),
            recent_auth=RecentAuthPolicy(timedelta(minutes=settings.recent_auth_minutes)),
            observer=app.state.metrics,
        )
        app.state.tokens = tokens
        app.state.csrf = CsrfTokens(secret)
        app.state.accounts = accounts
        app.state.faces = face_service(
            settings, database, models, embeddings, accounts, tokens, app.state.metrics
        )
        app.state.personal_data = personal_data_service(database, embeddings, accounts)
        app.state.identify = await run_in_threadpool(
            functools.partial(identify_service, observer=app.state.metrics), settings, database,
            models, embeddings, accounts, face_policy(settings), liveness_policy(settings),
            pipeline_config(settings),
        )  # fmt: skip
        app.state.password_pool = WorkerPool(
            settings.password_workers,
            settings.password_queue_limit,
            settings.password_queue_wait_seconds,
        )
        app.state.face_runner = BoundedRunner(settings.face_workers, settings.face_queue_limit)
        app.state.metrics.track_runner(app.state.face_runner)
        app.state.readiness = ReadinessCheck(database, models, supervisor)
        app.state.oidc = oidc_service(database, oidc_policy(settings))
        signing_keys = SigningKeys(settings.oidc_keys_path, app.state.oidc.policy.id_token_lifetime)
        await run_in_threadpool(signing_keys.current)  # generated once, on first start
        app.state.oauth_server = FaceAuthServer(app.state.oidc, signing_keys)
        log_event(logger, "app_started", version=__version__, embedded_db=supervisor is not None)
        yield
    finally:
        database.close()
        if supervisor is not None:
            await run_in_threadpool(supervisor.stop)
        log_event(logger, "app_stopped")


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
        oidc_router,
    ):
        document_error_responses(router)
        app.include_router(router)
    return app


def main() -> None:
    settings = Settings()
    try:
        require_installed_models(settings.models_dir, onnx=settings.face_embedder == "onnx")
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
