"""Operator actions behind `face-auth users|face|db ...`."""

from datetime import timedelta
from pathlib import Path

from face_auth.business_val.accounts.personal_data import AccountEraser
from face_auth.business_val.accounts.validation import normalise_email
from face_auth.business_val.face.one_time_codes import OneTimeCodes
from face_auth.business_val.face.template_protection import protect_templates
from face_auth.business_val.oidc.rules import OidcRevocation
from face_auth.business_val.sessions.tokens import end_all_sessions
from face_auth.data_access import (
    AuditRepository,
    Database,
    EmbeddingRepository,
    LoginAttemptRepository,
    SessionRepository,
    TemplateCipher,
    UserRepository,
)
from face_auth.data_access.database import EXPECTED_INDEXES
from face_auth.data_access.dump import export_jsonl, import_jsonl
from face_auth.data_access.face_attempt_repository import FaceAttemptRepository
from face_auth.entity import User
from face_auth.exception import NotFound
from face_auth.utils import utc_now


def user_summary(user: User, has_face: bool) -> dict[str, object]:
    return {
        "id": user.id,
        "email": user.email,
        "username": user.username,
        "name": user.name,
        "phone": user.phone,
        "created_at": user.created_at.isoformat(),
        "has_face_template": has_face,
    }


class AdminService:
    """The operator's actions; `database` is for whole-database work only (indexes, dump and
    restore), every record goes through its repository."""

    def __init__(
        self,
        *,
        database: Database,
        users: UserRepository,
        embeddings: EmbeddingRepository,
        cipher: TemplateCipher,
        sessions: SessionRepository,
        face_attempts: FaceAttemptRepository,
        login_attempts: LoginAttemptRepository,
        audit: AuditRepository,
        codes: OneTimeCodes,
        eraser: AccountEraser,
        delegations: OidcRevocation,
        enrollment_code_lifetime: timedelta,
        audit_retention_days: int,
    ) -> None:
        self._database = database
        self._audit_retention_days = audit_retention_days
        self._cipher = cipher
        self._enrollment_code_lifetime = enrollment_code_lifetime
        self._face_attempts = face_attempts
        self._users = users
        self._delegations = delegations
        self._embeddings = embeddings
        self._sessions = sessions
        self._attempts = login_attempts
        self._audit = audit
        self._codes = codes
        self._eraser = eraser

    def _user(self, email: str) -> User:
        normalised, _ = normalise_email(email)
        user = self._users.get_by_email(normalised or email.strip().lower())
        if user is None:
            raise NotFound(f"No user with email {email}.")
        return user

    def list_users(self) -> list[dict[str, object]]:
        return [
            user_summary(user, self._embeddings.has_template(user.id))
            for user in self._users.list_all()
        ]

    def show_user(self, email: str) -> dict[str, object]:
        user = self._user(email)
        summary = user_summary(user, self._embeddings.has_template(user.id))
        locked = self._attempts.locked_until(user.email, utc_now())
        return {**summary, "locked_until": locked.isoformat() if locked else None}

    def delete_user(self, email: str) -> None:
        """The account, its biometric data and data key, and every session it holds."""
        self._eraser.erase(self._user(email), "user_deleted_by_admin")

    def unlock(self, email: str) -> bool:
        """Lift password holds on the address and an administrator's lock of the account."""
        normalised, _ = normalise_email(email)
        address = normalised or email.strip().lower()
        user = self._users.get_by_email(address)
        unlocked = user is not None and user.locked_at is not None
        if user is not None and unlocked:
            self._users.set_locked(user.id, None)
            self._audit.record("account_unlocked_by_admin", utc_now(), user.id)
        return self._attempts.clear(address) or unlocked

    def lock(self, email: str) -> dict[str, object]:
        """Lock the account until `users unlock`: no sign-in, and every session ends now."""
        user = self._user(email)
        self._users.set_locked(user.id, utc_now())
        ended = end_all_sessions(self._sessions, self._delegations, user.id)
        self._audit.record("account_locked_by_admin", utc_now(), user.id, sessions_ended=ended)
        return {"locked": user.email, "sessions_ended": ended}

    def reset_face(self, email: str) -> dict[str, object]:
        """Delete the face template (shredding its data key), end every session of the account
        (a session signed in with the old face must not enroll a new one) and lift any face
        hold; return a one-time enrollment code for the administrator to hand to the user, who
        enrolls again with it (the password alone no longer puts a face on the account)."""
        user = self._user(email)
        ended = end_all_sessions(self._sessions, self._delegations, user.id)
        deleted = self._embeddings.delete(user.id)
        self._face_attempts.reset(user.id)
        self._audit.record("face_reset_by_admin", utc_now(), user.id, sessions_ended=ended)
        issued = self._codes.issue_enrollment_code(user.id, self._enrollment_code_lifetime)
        return {
            "reset": deleted,
            "sessions_ended": ended,
            "enrollment_code": issued.code,
            "expires_at": issued.expires_at.isoformat(),
        }

    def rotate_keys(self) -> dict[str, int]:
        """Re-wrap data keys under the current master key; encrypt plaintext templates."""
        return protect_templates(self._cipher, self._embeddings, self._audit).as_dict()

    def check_database(self) -> tuple[bool, dict[str, dict[str, object]]]:
        collections = self._database.describe()
        healthy = True
        for name, expected in EXPECTED_INDEXES.items():
            indexes = collections[name]["indexes"]
            assert isinstance(indexes, list)
            missing = sorted(expected - set(indexes))
            collections[name]["missing_indexes"] = missing
            healthy = healthy and not missing
        return healthy, collections

    def export(self, path: Path) -> dict[str, int]:
        return export_jsonl(self._database, path)

    def import_(self, path: Path) -> dict[str, int]:
        counts = import_jsonl(self._database, path)
        # With the configured retention: a default here once reset the audit TTL to a year.
        self._database.ensure_indexes(self._audit_retention_days)
        return counts
