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
    def find(
        self, user_id: str | None = None, since: datetime | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Events oldest first: of one user when given, from `since` on when given; the
        newest `limit` of them."""
        query: dict[str, Any] = {}
        if user_id is not None:
            query["user_id"] = user_id
        if since is not None:
            query["at"] = {"$gte": since}
        newest = self._audit.find(query, {"_id": False}).sort("at", -1).limit(limit)
        return list(reversed(list(newest)))
