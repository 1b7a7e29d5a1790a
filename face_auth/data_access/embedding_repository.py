from typing import Any

from face_auth.constant import EMBEDDINGS_COLLECTION
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable
from face_auth.entity import UserEmbedding


class EmbeddingRepository:
    """One face template per user (unique index on user_id)."""

    def __init__(self, database: Database) -> None:
        self._embeddings = database.durable(EMBEDDINGS_COLLECTION)

    @translate_unavailable
    def has_template(self, user_id: str) -> bool:
        return self._embeddings.count_documents({"user_id": user_id}, limit=1) > 0

    @translate_unavailable
    def get(self, user_id: str) -> UserEmbedding | None:
        document: dict[str, Any] | None = self._embeddings.find_one(
            {"user_id": user_id}, {"_id": False}
        )
        return UserEmbedding(**document) if document else None

    @translate_unavailable
    def replace(self, embedding: UserEmbedding) -> None:
        """Atomic single-document upsert: a re-enrollment never leaves two templates."""
        self._embeddings.replace_one(
            {"user_id": embedding.user_id}, embedding.model_dump(), upsert=True
        )

    @translate_unavailable
    def delete(self, user_id: str) -> bool:
        return self._embeddings.delete_one({"user_id": user_id}).deleted_count == 1
