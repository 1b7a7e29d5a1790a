import contextlib
from dataclasses import dataclass

from pymongo import ASCENDING, MongoClient, WriteConcern
from pymongo.collection import Collection
from pymongo.database import Database as MongoDatabase
from pymongo.errors import CollectionInvalid, OperationFailure

from face_auth.constant import (
    AUDIT_COLLECTION,
    DATA_KEYS_COLLECTION,
    EMAIL_TOKENS_COLLECTION,
    EMBEDDINGS_COLLECTION,
    FACE_ATTEMPTS_COLLECTION,
    FACE_CHALLENGES_COLLECTION,
    FRAME_HASHES_COLLECTION,
    IDENTIFY_GALLERY_COLLECTION,
    KIOSK_REQUESTS_COLLECTION,
    KIOSKS_COLLECTION,
    LOGIN_ATTEMPTS_COLLECTION,
    OAUTH_CLIENTS_COLLECTION,
    OAUTH_CODES_COLLECTION,
    OAUTH_GRANTS_COLLECTION,
    OAUTH_REFRESH_TOKENS_COLLECTION,
    OAUTH_TOKENS_COLLECTION,
    RECOVERY_CODES_COLLECTION,
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
    FACE_ATTEMPTS_COLLECTION,
    RECOVERY_CODES_COLLECTION,
    DATA_KEYS_COLLECTION,
    OAUTH_CLIENTS_COLLECTION,
    OAUTH_CODES_COLLECTION,
    OAUTH_TOKENS_COLLECTION,
    OAUTH_REFRESH_TOKENS_COLLECTION,
    OAUTH_GRANTS_COLLECTION,
    FACE_CHALLENGES_COLLECTION,
    FRAME_HASHES_COLLECTION,
    EMAIL_TOKENS_COLLECTION,
    KIOSKS_COLLECTION,
    KIOSK_REQUESTS_COLLECTION,
    IDENTIFY_GALLERY_COLLECTION,
)
# What ensure_indexes creates; `face-auth db check` compares against it.
EXPECTED_INDEXES = {
    USERS_COLLECTION: {
        "_id_",
        "email_unique",
        "username_unique",
        "email_skeleton",
        "username_skeleton",
    },
    EMBEDDINGS_COLLECTION: {"_id_", "user_id_unique"},
    SESSIONS_COLLECTION: {"_id_", "expiry_ttl", "user_id"},
    AUDIT_COLLECTION: {"_id_", "user_id", "retention_ttl"},
    LOGIN_ATTEMPTS_COLLECTION: {"_id_", "expiry_ttl"},
    # Keyed by user id (_id): nothing else to index.
    FACE_ATTEMPTS_COLLECTION: {"_id_"},
    RECOVERY_CODES_COLLECTION: {"_id_"},
    DATA_KEYS_COLLECTION: {"_id_"},
    # OpenID Connect: clients by client id; codes and tokens (by hash) removed by TTL once
    # expired; consents (_id "user:client") listed per user and removed with their client.
    OAUTH_CLIENTS_COLLECTION: {"_id_"},
    # Codes and tokens are also found per user (and session) when those sessions end.
    OAUTH_CODES_COLLECTION: {"_id_", "expiry_ttl", "user_id"},
    OAUTH_TOKENS_COLLECTION: {"_id_", "expiry_ttl", "user_id", "code_id"},
    OAUTH_REFRESH_TOKENS_COLLECTION: {"_id_", "expiry_ttl", "user_id", "family_id"},
    OAUTH_GRANTS_COLLECTION: {"_id_", "user_id", "client_id"},
    # Liveness: challenges by nonce hash and frame hashes per user, both removed by TTL.
    FACE_CHALLENGES_COLLECTION: {"_id_", "expiry_ttl"},
    FRAME_HASHES_COLLECTION: {"_id_", "expiry_ttl", "user_id"},
    # Mailed links by token hash, removed by TTL once expired; ended per user.
    EMAIL_TOKENS_COLLECTION: {"_id_", "expiry_ttl", "user_id"},
    # Identify mode: kiosks by id, their per-minute counts removed by TTL, the gallery's
    # version counter.
    KIOSKS_COLLECTION: {"_id_"},
    KIOSK_REQUESTS_COLLECTION: {"_id_", "expiry_ttl"},
    IDENTIFY_GALLERY_COLLECTION: {"_id_"},
}


@dataclass(frozen=True)
class Database:
    client: MongoClient
    db: MongoDatabase

    def durable(self, name: str) -> Collection:
        """The collection with a journaled write concern: a write acknowledged through it
        survives a crash of the database right after. For security state (revocations,
        lockouts, enrollment), where a lost write would undo a decision already announced."""
        return self.db.get_collection(name, write_concern=WriteConcern(w=1, j=True))

    @translate_unavailable
    def ping(self) -> None:
        self.client.admin.command("ping")

    @translate_unavailable
    def ensure_indexes(self, audit_retention_days: int) -> None:
        users = self.db[USERS_COLLECTION]
        users.create_index([("email", ASCENDING)], unique=True, name="email_unique")
        users.create_index([("username", ASCENDING)], unique=True, name="username_unique")
        # Look-alike checks at registration (not unique: older accounts have none).
        for key in ("email_skeleton", "username_skeleton"):
            users.create_index([(key, ASCENDING)], name=key)
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
        self._ensure_oidc_indexes()
        email_tokens = self.db[EMAIL_TOKENS_COLLECTION]
        email_tokens.create_index(
            [("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl"
        )
        email_tokens.create_index([("user_id", ASCENDING)], name="user_id")
        # Keyed by _id only: created up front so `db check` finds their _id index at once.
        existing = set(self.db.list_collection_names())
        for name in (
            FACE_ATTEMPTS_COLLECTION,
            RECOVERY_CODES_COLLECTION,
            DATA_KEYS_COLLECTION,
            KIOSKS_COLLECTION,
            IDENTIFY_GALLERY_COLLECTION,
        ):
            if name not in existing:
                # Another process may have created it meanwhile.
                with contextlib.suppress(CollectionInvalid, OperationFailure):
                    self.db.create_collection(name)

    def _ensure_oidc_indexes(self) -> None:
        for name in (
            OAUTH_CODES_COLLECTION,
            OAUTH_TOKENS_COLLECTION,
            OAUTH_REFRESH_TOKENS_COLLECTION,
        ):
            self.db[name].create_index(
                [("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl"
            )
        for name in (
            FACE_CHALLENGES_COLLECTION,
            FRAME_HASHES_COLLECTION,
            KIOSK_REQUESTS_COLLECTION,
        ):
            self.db[name].create_index(
                [("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl"
            )
        self.db[FRAME_HASHES_COLLECTION].create_index([("user_id", ASCENDING)], name="user_id")
        self.db[OAUTH_CODES_COLLECTION].create_index([("user_id", ASCENDING)], name="user_id")
        tokens = self.db[OAUTH_TOKENS_COLLECTION]
        tokens.create_index([("user_id", ASCENDING)], name="user_id")
        tokens.create_index([("code_id", ASCENDING)], name="code_id")
        refresh = self.db[OAUTH_REFRESH_TOKENS_COLLECTION]
        refresh.create_index([("user_id", ASCENDING)], name="user_id")
        refresh.create_index([("family_id", ASCENDING)], name="family_id")
        grants = self.db[OAUTH_GRANTS_COLLECTION]
        grants.create_index([("user_id", ASCENDING)], name="user_id")
        grants.create_index([("client_id", ASCENDING)], name="client_id")
        if OAUTH_CLIENTS_COLLECTION not in set(self.db.list_collection_names()):
            with contextlib.suppress(CollectionInvalid, OperationFailure):
                self.db.create_collection(OAUTH_CLIENTS_COLLECTION)

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
