from dataclasses import dataclass

from pymongo import ASCENDING, MongoClient
from pymongo.database import Database as MongoDatabase
from pymongo.errors import OperationFailure

from face_auth.constant import (
    AUDIT_COLLECTION,
    EMBEDDINGS_COLLECTION,
    LOGIN_ATTEMPTS_COLLECTION,
    SESSIONS_COLLECTION,
    USERS_COLLECTION,
)
from face_auth.data_access.errors import translate_unavailable

COLLECTIONS = (
    USERS_COLLECTION,
    EMBEDDINGS_COLLECTION,
    SESSIONS_COLLECTION,
    AUDIT_COLLECTION,
    LOGIN_ATTEMPTS_COLLECTION,
)
# What ensure_indexes creates; `face-auth db check` compares against it.
EXPECTED_INDEXES = {
    USERS_COLLECTION: {"_id_", "email_unique", "username_unique"},
    EMBEDDINGS_COLLECTION: {"_id_", "user_id_unique"},
    SESSIONS_COLLECTION: {"_id_", "expiry_ttl", "user_id"},
    AUDIT_COLLECTION: {"_id_", "user_id", "retention_ttl"},
    LOGIN_ATTEMPTS_COLLECTION: {"_id_", "expiry_ttl"},
}


@dataclass(frozen=True)
class Database:
    client: MongoClient
    db: MongoDatabase

    @translate_unavailable
    def ping(self) -> None:
        self.client.admin.command("ping")

    @translate_unavailable
    def ensure_indexes(self, audit_retention_days: int = 365) -> None:
        users = self.db[USERS_COLLECTION]
        users.create_index([("email", ASCENDING)], unique=True, name="email_unique")
        users.create_index([("username", ASCENDING)], unique=True, name="username_unique")
        self.db[EMBEDDINGS_COLLECTION].create_index(
            [("user_id", ASCENDING)], unique=True, name="user_id_unique"
        )
        sessions = self.db[SESSIONS_COLLECTION]
        sessions.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl")
        sessions.create_index([("user_id", ASCENDING)], name="user_id")
        audit = self.db[AUDIT_COLLECTION]
        audit.create_index([("user_id", ASCENDING)], name="user_id")
        retention = [("at", ASCENDING)]
        seconds = audit_retention_days * 24 * 3600
        try:
            audit.create_index(retention, expireAfterSeconds=seconds, name="retention_ttl")
        except OperationFailure:  # the retention setting changed: rebuild the index
            audit.drop_index("retention_ttl")
            audit.create_index(retention, expireAfterSeconds=seconds, name="retention_ttl")
        self.db[LOGIN_ATTEMPTS_COLLECTION].create_index(
            [("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl"
        )

    @translate_unavailable
    def describe(self) -> dict[str, dict[str, object]]:
        """Each collection's index names and document count."""
        return {
            name: {
                "indexes": sorted(self.db[name].index_information()),
                "count": self.db[name].count_documents({}),
            }
            for name in COLLECTIONS
        }

    def close(self) -> None:
        self.client.close()


def connect(uri: str, database_name: str, timeout_ms: int) -> Database:
    """Open a client. Options in the URI win; the embedded server's URI carries
    retryWrites=false, since retryable writes collapse its write rate."""
    client: MongoClient = MongoClient(
        uri,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms * 5, 10_000),
        tz_aware=True,
        uuidRepresentation="standard",
    )
    return Database(client=client, db=client[database_name])
