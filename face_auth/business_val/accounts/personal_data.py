"""A user's own data: export it (JSON) and delete the account. Both need a full two-factor
session; deleting also needs the current password. Account deletion is also what
`face-auth users delete` runs, so both paths erase the same things."""

from typing import Any

from face_auth.business_val.accounts.service import AccountService
from face_auth.business_val.face.one_time_codes import OneTimeCodes
from face_auth.business_val.face.service import template_usable
from face_auth.business_val.oidc.rules import OidcRevocation
from face_auth.business_val.sessions.tokens import end_all_sessions
from face_auth.data_access import (
    AuditRepository,
    EmailTokenRepository,
    EmbeddingRepository,
    LoginAttemptRepository,
    SessionRepository,
    UserRepository,
)
from face_auth.data_access.face_attempt_repository import FaceAttemptRepository
from face_auth.data_access.liveness_repository import FrameHashRepository
from face_auth.data_access.oidc_repository import ConsentRepository
from face_auth.data_access.recovery_code_repository import RecoveryCodeRepository
from face_auth.entity import SessionClaims, User, UserEmbedding
from face_auth.logger import get_logger, log_event
from face_auth.utils import utc_now

logger = get_logger(__name__)

EXPORT_FORMAT = "face_auth-export/1"
EXPORT_EVENTS_LIMIT = 10_000
# Left out of exported events: a refusal never reveals a score (docs/security.md).
WITHHELD_EVENT_DETAILS = frozenset({"similarity"})
VECTORS_NOT_EXPORTED = (
    "The template's numbers are not exported: they are useful only to a face matcher, and a "
    "downloaded copy would let anyone holding it (or a stolen session) match your face "
    "elsewhere. Delete your face data or your account to erase them."
)


class AccountEraser:
    """Everything stored about one account: its sessions end first, with their OpenID Connect
    codes and tokens, then the applications it granted (consents), the face template and its data
    key (crypto-shredded), the face hold, one-time codes, mailed links, password attempts and
    the user.
    Audit events stay until their retention ends (they hold the user id only)."""

    def __init__(
        self,
        *,
        users: UserRepository,
        embeddings: EmbeddingRepository,
        sessions: SessionRepository,
        recovery_codes: RecoveryCodeRepository,
        face_attempts: FaceAttemptRepository,
        login_attempts: LoginAttemptRepository,
        frame_hashes: FrameHashRepository,
        consents: ConsentRepository,
        email_tokens: EmailTokenRepository,
        delegations: OidcRevocation,
        audit: AuditRepository,
    ) -> None:
        self._users = users
        self._embeddings = embeddings
        self._sessions = sessions
        self._recovery_codes = recovery_codes
        self._face_attempts = face_attempts
        self._login_attempts = login_attempts
        self._frame_hashes = frame_hashes
        self._consents = consents
        self._email_tokens = email_tokens
        self._delegations = delegations
        self._audit = audit

    def erase(self, user: User, event: str) -> int:
        """Returns how many live sessions ended; records `event` in the audit log."""
        ended = end_all_sessions(self._sessions, self._delegations, user.id)
        for grant in self._consents.list_for_user(user.id):
            self._consents.remove(user.id, grant.client_id)
        self._embeddings.delete(user.id)
        self._frame_hashes.delete_for_user(user.id)
        self._face_attempts.delete(user.id)
        self._recovery_codes.delete(user.id)
        self._email_tokens.delete_for_user(user.id)
        self._login_attempts.clear(user.email)
        self._users.delete(user.id)
        self._audit.record(event, utc_now(), user.id, sessions_ended=ended)
        log_event(logger, event, user_id=user.id, sessions_ended=ended)
        return ended


def template_summary(template: UserEmbedding | None) -> dict[str, object] | None:
    if template is None:
        return None
    return {
        "model_name": template.model_name,
        "model_version": template.model_version,
        "created_at": template.created_at,
        "dimensions": len(template.template) if template.readable else None,
        "frames": len(template.embeddings) if template.readable else None,
        "usable": template_usable(template),
        "stored_as": "AES-256-GCM under a data key of this account only",
        "vectors_included": False,
        "why_no_vectors": VECTORS_NOT_EXPORTED,
    }


def exported_event(event: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key not in WITHHELD_EVENT_DETAILS}


class PersonalDataService:
    def __init__(
        self,
        *,
        accounts: AccountService,
        eraser: AccountEraser,
        embeddings: EmbeddingRepository,
        codes: OneTimeCodes,
        audit: AuditRepository,
    ) -> None:
        self._accounts = accounts
        self._eraser = eraser
        self._embeddings = embeddings
        self._codes = codes
        self._audit = audit

    def export(self, claims: SessionClaims) -> dict[str, object]:
        """What we hold about the user, as plain values (needs both factors)."""
        self._accounts.require_full_session(claims)
        user = self._accounts.current_user(claims)
        codes = self._codes.status(user.id)
        events = self._audit.find(user_id=user.id, limit=EXPORT_EVENTS_LIMIT)
        export: dict[str, object] = {
            "format": EXPORT_FORMAT,
            "exported_at": utc_now(),
            "profile": user.model_dump(
                exclude={"password_hash", "email_skeleton", "username_skeleton", "locked_at"}
            ),
            "face_template": template_summary(self._embeddings.get(user.id)),
            # Identify mode: since when kiosks may recognise the user (None: they may not).
            "identify_consent_at": self._embeddings.identify_consent(user.id),
            "recovery_codes": {
                "left": codes.recovery_codes_left,
                "issued_at": codes.recovery_codes_issued_at,
            },
            "audit_events": [exported_event(event) for event in events],
        }
        self._audit.record("data_exported", utc_now(), user.id)
        log_event(logger, "data_exported", user_id=user.id, events=len(events))
        return export

    def delete_account(
        self, claims: SessionClaims, password: str, client: str | None = None
    ) -> None:
        """The user deletes their own account: both factors and the current password."""
        user = self._accounts.confirm_password(claims, password, client)
        self._eraser.erase(user, "account_deleted")
