from datetime import datetime
from typing import Any

from face_auth.business_val.accounts.validation import normalise_email
from face_auth.data_access import AuditRepository, UserRepository
from face_auth.exception import NotFound


class AuditLog:
    """Reads the security events the services record (never passwords, tokens, codes or
    embeddings: only what happened, to whom, when, and scores)."""

    def __init__(self, audit: AuditRepository, users: UserRepository) -> None:
        self._audit = audit
        self._users = users

    def events(
        self, email: str | None = None, since: datetime | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        user_id = None
        if email is not None:
            normalised, _ = normalise_email(email)
            user = self._users.get_by_email(normalised or email.strip().lower())
            if user is None:
                raise NotFound(f"No user with the email {email}.")
            user_id = user.id
        return self._audit.find(user_id, since, limit)
