"""Settings turned into every policy and service, in one place.

The app's lifespan (app.py) and every `face-auth` command build what they run from here, so
the two cannot drift: the same numbers, the same template cipher, the same embedded database
supervisor. Services receive their repositories; this module and the data access layer are
the only ones that construct them. What is HTTP's (cookies, CSRF, worker pools, the OpenID
Connect server) stays in app.py.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from face_auth.business_val import AccountService, PasswordHasher, TokenService
from face_auth.business_val.accounts.admin import AdminService
from face_auth.business_val.accounts.email_links import EmailLinkPolicy, EmailLinks
from face_auth.business_val.accounts.email_verification import EmailVerificationPolicy
from face_auth.business_val.accounts.personal_data import AccountEraser, PersonalDataService
from face_auth.business_val.accounts.recent_auth import RecentAuthPolicy
from face_auth.business_val.face.attempts import FaceAttemptLimiter, FaceHoldPolicy
from face_auth.business_val.face.liveness import (
    LivenessMode,
    LivenessPolicy,
    LivenessService,
    frames_per_request,
    parse_actions,
)
from face_auth.business_val.face.one_time_codes import OneTimeCodes
from face_auth.business_val.face.service import FacePolicy, FaceService
from face_auth.business_val.face.template_protection import protect_templates
from face_auth.business_val.identify.kiosks import KioskRateLimit, KioskService
from face_auth.business_val.identify.rules import IdentifyPolicy, ImpostorModel
from face_auth.business_val.identify.service import GalleryIndex, IdentifyService, kiosk_liveness
from face_auth.business_val.observer import AuthObserver
from face_auth.business_val.oidc.rules import OidcPolicy, OidcRevocation, OidcService
from face_auth.business_val.oidc.signing_keys import SigningKeys
from face_auth.business_val.password.lockout import LockoutPolicy, PasswordLockout
from face_auth.config import Settings, load_or_create_secret, template_master_keys
from face_auth.data_access import (
    AuditRepository,
    Database,
    DatabaseSupervisor,
    DataKeyRepository,
    EmailTokenRepository,
    EmbeddingRepository,
    LoginAttemptRepository,
    SessionRepository,
    TemplateCipher,
    UserRepository,
    connect,
)
from face_auth.data_access.embedded_server import read_running_server
from face_auth.data_access.face_attempt_repository import FaceAttemptRepository
from face_auth.data_access.kiosk_repository import KioskRepository, KioskRequestCounter
from face_auth.data_access.liveness_repository import ChallengeRepository, FrameHashRepository
from face_auth.data_access.oidc_repository import (
    AccessTokenRepository,
    AuthorizationCodeRepository,
    ConsentRepository,
    OAuthClientRepository,
    RefreshTokenRepository,
)
from face_auth.data_access.recovery_code_repository import RecoveryCodeRepository
from face_auth.face_pipeline import FaceModels, PipelineConfig
from face_auth.face_pipeline.liveness import LivenessConfig
from face_auth.logger import get_logger, log_event
from face_auth.mail import MailQueue, mail_sender

# --- Policies: the numbers of each rule, from Settings -------------------------------------


logger = get_logger(__name__)


def pipeline_config(settings: Settings) -> PipelineConfig:
    return PipelineConfig.from_settings(settings)


def face_capture_frames(settings: Settings) -> int:
    return frames_per_request(
        LivenessMode(settings.liveness), settings.face_frames, settings.face_capture_frames
    )


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


def identify_policy(settings: Settings) -> IdentifyPolicy:
    return IdentifyPolicy(
        gallery_size=settings.identify_gallery_size,
        false_identification_rate=settings.identify_false_identification_rate,
        margin=settings.identify_margin,
        impostors=ImpostorModel(
            mean=settings.identify_impostor_mean, spread=settings.identify_impostor_spread
        ),
        floor=settings.face_match_threshold,
    )


def face_hold_policy(settings: Settings) -> FaceHoldPolicy:
    return FaceHoldPolicy(
        max_failures=settings.face_account_max_failures,
        first_hold=timedelta(seconds=settings.face_hold_seconds),
        max_hold=timedelta(seconds=settings.face_hold_max_seconds),
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


def oidc_policy(settings: Settings) -> OidcPolicy:
    return OidcPolicy(
        code_lifetime=timedelta(seconds=settings.oidc_code_seconds),
        access_token_lifetime=timedelta(minutes=settings.oidc_access_token_minutes),
        id_token_lifetime=timedelta(minutes=settings.oidc_id_token_minutes),
        refresh_token_lifetime=timedelta(days=settings.oidc_refresh_token_days),
    )


def session_secret(settings: Settings) -> str:
    """The key that signs session tokens (and derives the CSRF key)."""
    if settings.jwt_secret:
        return settings.jwt_secret.get_secret_value()
    return load_or_create_secret(settings.secret_path)


# --- The database ----------------------------------------------------------------------------


def database_supervisor(settings: Settings) -> DatabaseSupervisor:
    return DatabaseSupervisor(
        settings.db_path,
        startup_timeout=settings.embedded_db_startup_seconds,
        max_quick_failures=settings.embedded_db_max_restarts,
        failure_window=settings.embedded_db_restart_window_seconds,
        restart_delay=settings.embedded_db_restart_delay_seconds,
    )


@contextmanager
def open_database(settings: Settings) -> Iterator[Database]:
    """For a command: MONGODB_URI if set; else the embedded server the app is running on this
    data dir (its storage can be opened by one process only); else one started by the app's
    own supervisor for the duration of the command."""
    supervisor: DatabaseSupervisor | None = None
    if settings.mongodb_uri is not None:
        uri = settings.mongodb_uri.get_secret_value()
    else:
        running = read_running_server(settings.data_dir / "secantusd.json")
        if running is not None:
            uri = running
        else:
            supervisor = database_supervisor(settings)
            uri = supervisor.start()
    database = connect(uri, settings.database_name, settings.db_timeout_ms)
    try:
        yield database
    finally:
        database.close()
        if supervisor is not None:
            supervisor.stop()


def template_cipher(settings: Settings, database: Database) -> TemplateCipher:
    """The cipher of the face templates, with the master keys the settings name
    (FACE_AUTH_TEMPLATE_MASTER_KEY or the key file in the data directory)."""
    current, previous = template_master_keys(settings)
    return TemplateCipher(current, previous, DataKeyRepository(database))


# --- Repositories and services ------------------------------------------------------------------


class Repositories:
    """Every repository, over one database. The template cipher (and so the templates'
    repository) is made on first use: commands that never touch a template do not read, or
    create, the master key."""

    def __init__(
        self, settings: Settings, database: Database, cipher: TemplateCipher | None = None
    ) -> None:
        self._settings = settings
        self._given_cipher = cipher
        self.database = database
        self.users = UserRepository(database)
        self.sessions = SessionRepository(database)
        self.audit = AuditRepository(database)
        self.login_attempts = LoginAttemptRepository(database)
        self.face_attempts = FaceAttemptRepository(database)
        self.recovery_codes = RecoveryCodeRepository(database)
        self.challenges = ChallengeRepository(database)
        self.frame_hashes = FrameHashRepository(database)
        self.clients = OAuthClientRepository(database)
        self.codes = AuthorizationCodeRepository(database)
        self.access_tokens = AccessTokenRepository(database)
        self.refresh_tokens = RefreshTokenRepository(database)
        self.consents = ConsentRepository(database)
        self.email_tokens = EmailTokenRepository(database)
        self.kiosks = KioskRepository(database)
        self.kiosk_requests = KioskRequestCounter(database)

    @cached_property
    def cipher(self) -> TemplateCipher:
        return self._given_cipher or template_cipher(self._settings, self.database)

    @cached_property
    def embeddings(self) -> EmbeddingRepository:
        return EmbeddingRepository(self.database, self.cipher)


def oidc_revocation(repos: Repositories) -> OidcRevocation:
    return OidcRevocation(repos.codes, repos.access_tokens, repos.refresh_tokens, repos.audit)


def oidc_service(settings: Settings, repos: Repositories) -> OidcService:
    return OidcService(
        clients=repos.clients,
        codes=repos.codes,
        tokens=repos.access_tokens,
        refresh_tokens=repos.refresh_tokens,
        consents=repos.consents,
        users=repos.users,
        audit=repos.audit,
        policy=oidc_policy(settings),
    )


def signing_keys(settings: Settings) -> SigningKeys:
    return SigningKeys(settings.oidc_keys_path, oidc_policy(settings).id_token_lifetime)


def account_eraser(repos: Repositories) -> AccountEraser:
    return AccountEraser(
        users=repos.users,
        embeddings=repos.embeddings,
        sessions=repos.sessions,
        recovery_codes=repos.recovery_codes,
        face_attempts=repos.face_attempts,
        login_attempts=repos.login_attempts,
        frame_hashes=repos.frame_hashes,
        consents=repos.consents,
        email_tokens=repos.email_tokens,
        delegations=oidc_revocation(repos),
        audit=repos.audit,
    )


def admin_service(settings: Settings, repos: Repositories) -> AdminService:
    return AdminService(
        database=repos.database,
        users=repos.users,
        embeddings=repos.embeddings,
        cipher=repos.cipher,
        sessions=repos.sessions,
        face_attempts=repos.face_attempts,
        login_attempts=repos.login_attempts,
        audit=repos.audit,
        codes=OneTimeCodes(repos.recovery_codes, repos.audit, recovery_code_count=0),
        eraser=account_eraser(repos),
        delegations=oidc_revocation(repos),
        enrollment_code_lifetime=timedelta(hours=settings.enrollment_code_hours),
        audit_retention_days=settings.audit_retention_days,
    )


@dataclass(frozen=True)
class Services:
    """What the app serves with (the face service needs the loaded models)."""

    repos: Repositories
    tokens: TokenService
    accounts: AccountService
    personal_data: PersonalDataService
    oidc: OidcService
    signing_keys: SigningKeys
    faces: FaceService
    email_links: EmailLinks
    # None unless identify mode is on: the opted-in templates are then never held decrypted.
    identify: IdentifyService | None


def token_service(settings: Settings, repos: Repositories) -> TokenService:
    return TokenService(
        session_secret(settings), settings.jwt_algorithm, repos.sessions, oidc_revocation(repos)
    )


def account_service(
    settings: Settings, repos: Repositories, tokens: TokenService, observer: AuthObserver
) -> AccountService:
    return AccountService(
        users=repos.users,
        embeddings=repos.embeddings,
        audit=repos.audit,
        lockout=PasswordLockout(lockout_policy(settings), repos.login_attempts),
        hasher=PasswordHasher(settings.bcrypt_rounds),
        tokens=tokens,
        password_token_lifetime=timedelta(minutes=settings.password_token_minutes),
        session_token_lifetime=timedelta(minutes=settings.session_token_minutes),
        recent_auth=RecentAuthPolicy(timedelta(minutes=settings.recent_auth_minutes)),
        observer=observer,
        email_verification=EmailVerificationPolicy(required=settings.mail_enabled),
    )


def email_links(settings: Settings, repos: Repositories, accounts: AccountService) -> EmailLinks:
    """The mailed links' service: SMTP when a host is set, else the development log
    (docs/mail.md). Its mail queue is a thread: close the service on shutdown."""
    return EmailLinks(
        policy=EmailLinkPolicy.from_settings(settings),
        accounts=accounts,
        users=repos.users,
        tokens=repos.email_tokens,
        audit=repos.audit,
        queue=MailQueue(mail_sender(settings)),
    )


def personal_data_service(repos: Repositories, accounts: AccountService) -> PersonalDataService:
    return PersonalDataService(
        accounts=accounts,
        eraser=account_eraser(repos),
        embeddings=repos.embeddings,
        codes=OneTimeCodes(repos.recovery_codes, repos.audit, recovery_code_count=0),
        audit=repos.audit,
    )


def face_service(
    settings: Settings,
    repos: Repositories,
    models: FaceModels,
    accounts: AccountService,
    tokens: TokenService,
    observer: AuthObserver,
) -> FaceService:
    return FaceService(
        models=models,
        pipeline=pipeline_config(settings),
        policy=face_policy(settings),
        embeddings=repos.embeddings,
        users=repos.users,
        sessions=repos.sessions,
        audit=repos.audit,
        accounts=accounts,
        tokens=tokens,
        limiter=FaceAttemptLimiter(
            face_hold_policy(settings), repos.face_attempts, repos.audit, observer
        ),
        codes=OneTimeCodes(repos.recovery_codes, repos.audit, settings.recovery_codes, observer),
        liveness=LivenessService(
            liveness_policy(settings), repos.challenges, repos.frame_hashes, repos.audit, observer
        ),
        observer=observer,
    )


def kiosk_service(repos: Repositories) -> KioskService:
    return KioskService(repos.kiosks, repos.audit)


def identify_service(
    settings: Settings,
    repos: Repositories,
    models: FaceModels,
    accounts: AccountService,
    observer: AuthObserver,
) -> IdentifyService | None:
    """Identify mode's service, its index loaded; None when identify mode is off."""
    if not settings.identify:
        return None
    index = GalleryIndex(repos.embeddings)
    service = IdentifyService(
        models=models,
        pipeline=pipeline_config(settings),
        face=face_policy(settings),
        policy=identify_policy(settings),
        index=index,
        embeddings=repos.embeddings,
        users=repos.users,
        accounts=accounts,
        kiosks=kiosk_service(repos),
        rate_limit=KioskRateLimit(
            settings.identify_kiosk_requests_per_minute, repos.kiosk_requests
        ),
        liveness=LivenessService(
            kiosk_liveness(
                liveness_policy(settings),
                timedelta(minutes=settings.identify_kiosk_replay_minutes),
            ),
            repos.challenges,
            repos.frame_hashes,
            repos.audit,
            observer,
        ),
        audit=repos.audit,
        observer=observer,
    )
    index.refresh()
    log_event(logger, "identify_on", templates=index.size,
              threshold=round(service.policy.threshold(index.size), 4))  # fmt: skip
    return service


def serving_services(
    settings: Settings, database: Database, models: FaceModels, observer: AuthObserver
) -> Services:
    """Everything the app's routes call, over a connected database: first re-wraps data keys
    under the current master key and encrypts plaintext templates (idempotent), and makes the
    OpenID Connect signing key on the first start. Blocking: run it off the event loop."""
    repos = Repositories(settings, database)
    protect_templates(repos.cipher, repos.embeddings, repos.audit)
    tokens = token_service(settings, repos)
    accounts = account_service(settings, repos, tokens, observer)
    keys = signing_keys(settings)
    keys.current()  # generated once, on first start
    return Services(
        repos=repos,
        tokens=tokens,
        accounts=accounts,
        personal_data=personal_data_service(repos, accounts),
        oidc=oidc_service(settings, repos),
        signing_keys=keys,
        faces=face_service(settings, repos, models, accounts, tokens, observer),
        email_links=email_links(settings, repos, accounts),
        identify=identify_service(settings, repos, models, accounts, observer),
    )
