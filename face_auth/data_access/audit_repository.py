from datetime import datetime
from typing import Any

from face_auth.constant import AUDIT_COLLECTION
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable


class AuditRepository:
    """Append-only security events (never passwords, tokens or embeddings)."""

    def __init__(self, database: Database) -> None:
        self._audit = database.db[AUDIT_COLLECTION]

    @translate_unavailable
    def record(self, event: str, at: datetime, user_id: str | None = None, **details: Any) -> None:
        self._audit.insert_one({"event": event, "at": at, "user_id": user_id, **details})

    @translate_unavailable
    def events_for(self, user_id: str) -> list[dict[str, Any]]:
        return list(self._audit.find({"user_id": user_id}, {"_id": False}).sort("at", 1))
