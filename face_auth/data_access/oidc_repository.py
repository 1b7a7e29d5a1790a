"""Storage of the OpenID Connect provider: clients, codes, access tokens, consents.

Codes and tokens are keyed by their SHA-256 hash (computed by the caller): the database never
holds one that could be replayed. Their TTL index removes them once `expires_at` has passed.
"""

from datetime import datetime
from typing import Any

from pymongo.collection import Collection

from face_auth.constant import (
    OAUTH_CLIENTS_COLLECTION,
    OAUTH_CODES_COLLECTION,
    OAUTH_GRANTS_COLLECTION,
    OAUTH_REFRESH_TOKENS_COLLECTION,
    OAUTH_TOKENS_COLLECTION,
)
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable
from face_auth.entity.oidc import (
    AccessToken,
    AuthorizationCode,
    ConsentGrant,
    OAuthClient,
    RefreshToken,
)


def _client(document: dict[str, Any]) -> OAuthClient:
    return OAuthClient(
        client_id=str(document["_id"]),
        name=str(document["name"]),
        redirect_uris=tuple(document["redirect_uris"]),
        public=bool(document["public"]),
        secret_hash=document.get("secret_hash"),
        created_at=document["created_at"],
        # Clients registered before RS256 was supported got ES256 ID tokens.
        id_token_signed_response_alg=str(document.get("id_token_signed_response_alg", "ES256")),
        allowed_origins=tuple(document.get("allowed_origins", ())),
        post_logout_redirect_uris=tuple(document.get("post_logout_redirect_uris", ())),
    )


class OAuthClientRepository:
    def __init__(self, database: Database) -> None:
        self._clients = database.durable(OAUTH_CLIENTS_COLLECTION)

    @translate_unavailable
    def add(self, client: OAuthClient) -> None:
        self._clients.insert_one(
            {
                "_id": client.client_id,
                "name": client.name,
                "redirect_uris": list(client.redirect_uris),
                "public": client.public,
                "secret_hash": client.secret_hash,
                "created_at": client.created_at,
                "id_token_signed_response_alg": client.id_token_signed_response_alg,
                "allowed_origins": list(client.allowed_origins),
                "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
            }
        )

    @translate_unavailable
    def get(self, client_id: str) -> OAuthClient | None:
        document = self._clients.find_one({"_id": client_id})
        return _client(document) if document else None

    @translate_unavailable
    def origin_registered(self, origin: str) -> bool:
        """Whether some client lists this web origin (a CORS preflight names no client)."""
        return self._clients.count_documents({"allowed_origins": origin}, limit=1) == 1

    @translate_unavailable
    def list(self) -> list[OAuthClient]:
        return [_client(document) for document in self._clients.find().sort("created_at", 1)]

    @translate_unavailable
    def remove(self, client_id: str) -> bool:
        return self._clients.delete_one({"_id": client_id}).deleted_count == 1


def _code(document: dict[str, Any]) -> AuthorizationCode:
    return AuthorizationCode(
        code_id=str(document["_id"]),
        client_id=str(document["client_id"]),
        user_id=str(document["user_id"]),
        redirect_uri=str(document["redirect_uri"]),
        scope=str(document["scope"]),
        nonce=document.get("nonce"),
        code_challenge=str(document["code_challenge"]),
        code_challenge_method=str(document["code_challenge_method"]),
        auth_time=document["auth_time"],
        amr=tuple(document["amr"]),
        acr=str(document["acr"]),
        code_expires_at=document["code_expires_at"],
        used_at=document.get("used_at"),
        session_id=document.get("session_id"),
    )


class AuthorizationCodeRepository:
    """A code is valid until `code_expires_at` and for one use. Its record outlives that
    (`expires_at`, the TTL field) while the tokens it bought may be alive, so that a second use
    is recognised and those tokens revoked."""

    def __init__(self, database: Database) -> None:
        self._codes = database.durable(OAUTH_CODES_COLLECTION)

    @translate_unavailable
    def add(self, code: AuthorizationCode, keep_until: datetime) -> None:
        document = code.model_dump(exclude={"code_id"})
        document["amr"] = list(code.amr)
        self._codes.insert_one({"_id": code.code_id, **document, "expires_at": keep_until})

    @translate_unavailable
    def redeem(self, code_id: str, now: datetime) -> AuthorizationCode | None:
        """Mark the code used, atomically, whoever presents it; the code if this call did (still
        unused and unexpired), else None. The caller checks that the right client presented it:
        a code presented by another one is burnt all the same."""
        document = self._codes.find_one_and_update(
            {"_id": code_id, "used_at": None, "code_expires_at": {"$gt": now}},
            {"$set": {"used_at": now}},
        )
        return _code(document) if document else None

    @translate_unavailable
    def find(self, code_id: str) -> AuthorizationCode | None:
        document = self._codes.find_one({"_id": code_id})
        return _code(document) if document else None

    @translate_unavailable
    def delete_unused(
        self, *, user_id: str, session_id: str | None = None, client_id: str | None = None
    ) -> int:
        """Forget the user's codes not exchanged yet (of one session, or one client, when
        given): they can no longer buy tokens. Used codes stay, so that a replay is still
        recognised."""
        query: dict[str, Any] = {"user_id": user_id, "used_at": None}
        if session_id is not None:
            query["session_id"] = session_id
        if client_id is not None:
            query["client_id"] = client_id
        return self._codes.delete_many(query).deleted_count

    @translate_unavailable
    def delete_for_client(self, client_id: str) -> None:
        self._codes.delete_many({"client_id": client_id})


def _revoke_for_user(
    tokens: Collection, user_id: str, now: datetime, session_id: str | None,
    client_id: str | None,
) -> int:  # fmt: skip
    """Revoke a user's live tokens of one kind, narrowed to a session or a client if given."""
    query: dict[str, Any] = {"user_id": user_id, "revoked_at": None}
    if session_id is not None:
        query["session_id"] = session_id
    if client_id is not None:
        query["client_id"] = client_id
    return tokens.update_many(query, {"$set": {"revoked_at": now}}).modified_count


def _token(document: dict[str, Any]) -> AccessToken:
    return AccessToken(
        token_id=str(document["_id"]),
        client_id=str(document["client_id"]),
        user_id=str(document["user_id"]),
        scope=str(document["scope"]),
        code_id=document.get("code_id"),
        issued_at=document["issued_at"],
        expires_at=document["expires_at"],
        revoked_at=document.get("revoked_at"),
        session_id=document.get("session_id"),
        family_id=document.get("family_id"),
    )


class AccessTokenRepository:
    def __init__(self, database: Database) -> None:
        self._tokens = database.durable(OAUTH_TOKENS_COLLECTION)

    @translate_unavailable
    def add(self, token: AccessToken) -> None:
        document = token.model_dump(exclude={"token_id"})
        self._tokens.insert_one({"_id": token.token_id, **document})

    @translate_unavailable
    def find_live(self, token_id: str, now: datetime) -> AccessToken | None:
        document = self._tokens.find_one(
            {"_id": token_id, "revoked_at": None, "expires_at": {"$gt": now}}
        )
        return _token(document) if document else None

    @translate_unavailable
    def revoke(self, token_id: str, now: datetime) -> bool:
        result = self._tokens.update_one(
            {"_id": token_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        return result.modified_count == 1

    @translate_unavailable
    def revoke_family(self, family_id: str, now: datetime) -> int:
        result = self._tokens.update_many(
            {"family_id": family_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        return result.modified_count

    @translate_unavailable
    def revoke_for_code(self, code_id: str, now: datetime) -> int:
        result = self._tokens.update_many(
            {"code_id": code_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        return result.modified_count

    @translate_unavailable
    def revoke_for_user(
        self,
        user_id: str,
        now: datetime,
        session_id: str | None = None,
        client_id: str | None = None,
    ) -> int:
        """Revoke the user's live tokens (those one session, or one client, obtained, when
        given)."""
        return _revoke_for_user(self._tokens, user_id, now, session_id, client_id)

    @translate_unavailable
    def delete_for_client(self, client_id: str) -> None:
        self._tokens.delete_many({"client_id": client_id})


def _refresh(document: dict[str, Any]) -> RefreshToken:
    fields = {key: document.get(key) for key in RefreshToken.model_fields if key != "token_id"}
    return RefreshToken(token_id=str(document["_id"]), **fields)


class RefreshTokenRepository:
    """Refresh tokens by hash. `rotate` marks one used in the atomic update that finds it live;
    the record stays until the family's `expires_at` (the TTL field) so that a replay is
    recognised."""

    def __init__(self, database: Database) -> None:
        self._tokens = database.durable(OAUTH_REFRESH_TOKENS_COLLECTION)

    @translate_unavailable
    def add(self, token: RefreshToken) -> None:
        self._tokens.insert_one({"_id": token.token_id, **token.model_dump(exclude={"token_id"})})

    @translate_unavailable
    def rotate(self, token_id: str, now: datetime) -> RefreshToken | None:
        """Mark the token used if it is live; the token if this call did, else None."""
        document = self._tokens.find_one_and_update(
            {"_id": token_id, "used_at": None, "revoked_at": None, "expires_at": {"$gt": now}},
            {"$set": {"used_at": now}},
        )
        return _refresh(document) if document else None

    @translate_unavailable
    def find(self, token_id: str) -> RefreshToken | None:
        document = self._tokens.find_one({"_id": token_id})
        return _refresh(document) if document else None

    @translate_unavailable
    def revoke_family(self, family_id: str, now: datetime) -> int:
        result = self._tokens.update_many(
            {"family_id": family_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        return result.modified_count

    @translate_unavailable
    def revoke_for_user(
        self,
        user_id: str,
        now: datetime,
        session_id: str | None = None,
        client_id: str | None = None,
    ) -> int:
        return _revoke_for_user(self._tokens, user_id, now, session_id, client_id)

    @translate_unavailable
    def delete_for_client(self, client_id: str) -> None:
        self._tokens.delete_many({"client_id": client_id})


def _grant_id(user_id: str, client_id: str) -> str:
    return f"{user_id}:{client_id}"


class ConsentRepository:
    def __init__(self, database: Database) -> None:
        self._grants = database.durable(OAUTH_GRANTS_COLLECTION)

    @translate_unavailable
    def save(self, grant: ConsentGrant) -> None:
        self._grants.update_one(
            {"_id": _grant_id(grant.user_id, grant.client_id)},
            {
                "$set": {
                    "user_id": grant.user_id,
                    "client_id": grant.client_id,
                    "client_name": grant.client_name,
                    "scopes": list(grant.scopes),
                    "granted_at": grant.granted_at,
                }
            },
            upsert=True,
        )

    @translate_unavailable
    def get(self, user_id: str, client_id: str) -> ConsentGrant | None:
        document = self._grants.find_one({"_id": _grant_id(user_id, client_id)})
        return self._grant(document) if document else None

    @translate_unavailable
    def list_for_user(self, user_id: str) -> list[ConsentGrant]:
        documents = self._grants.find({"user_id": user_id}).sort("granted_at", 1)
        return [self._grant(document) for document in documents]

    @translate_unavailable
    def remove(self, user_id: str, client_id: str) -> bool:
        result = self._grants.delete_one({"_id": _grant_id(user_id, client_id)})
        return result.deleted_count == 1

    @translate_unavailable
    def delete_for_client(self, client_id: str) -> None:
        self._grants.delete_many({"client_id": client_id})

    @staticmethod
    def _grant(document: dict[str, Any]) -> ConsentGrant:
        return ConsentGrant(
            user_id=str(document["user_id"]),
            client_id=str(document["client_id"]),
            client_name=str(document["client_name"]),
            scopes=tuple(document["scopes"]),
            granted_at=document["granted_at"],
        )
