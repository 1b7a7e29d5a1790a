from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from face_auth.business_val.oidc import OidcRevocation
from face_auth.data_access import SessionRepository
from face_auth.entity import SessionClaims
from face_auth.exception import InvalidToken
from face_auth.utils import new_token_id, utc_now

_REQUIRED_CLAIMS = ["sub", "jti", "iat", "exp", "amr"]
# The token's exp is whole seconds; the record's expires_at keeps milliseconds.
_CLOCK_ROUNDING = timedelta(seconds=1)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    claims: SessionClaims


class TokenService:
    """Signs and checks JWTs (PyJWT, one allowed algorithm) and keeps the server-side record
    that makes logout and revocation real. A session that ends takes with it what it delegated
    to other applications (OpenID Connect codes and tokens): every caller of `revoke` and
    `revoke_all` gets that."""

    def __init__(
        self,
        secret: str,
        algorithm: str,
        sessions: SessionRepository,
        delegations: OidcRevocation,
    ) -> None:
        self._secret = secret
        self._algorithm = algorithm
        self._sessions = sessions
        self._delegations = delegations

    def issue(
        self, user_id: str, amr: list[str], lifetime: timedelta, now: datetime | None = None
    ) -> IssuedToken:
        issued_at = (now or utc_now()).replace(microsecond=0)
        claims = SessionClaims(
            sub=user_id,
            jti=new_token_id(),
            iat=issued_at,
            exp=issued_at + lifetime,
            amr=tuple(amr),
        )
        payload = {
            "sub": claims.sub,
            "jti": claims.jti,
            "iat": int(claims.iat.timestamp()),
            "exp": int(claims.exp.timestamp()),
            "amr": list(claims.amr),
        }
        self._sessions.add(claims.jti, user_id, list(amr), claims.iat, claims.exp)
        token = jwt.encode(payload, self._secret, algorithm=self._algorithm)
        return IssuedToken(token=token, claims=claims)

    def verify(self, token: str) -> SessionClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                options={"require": _REQUIRED_CLAIMS},
            )
            amr = payload["amr"]
            if not isinstance(amr, list):
                raise TypeError("amr must be a list")
            claims = SessionClaims(
                sub=str(payload["sub"]),
                jti=str(payload["jti"]),
                iat=datetime.fromtimestamp(int(payload["iat"]), tz=UTC),
                exp=datetime.fromtimestamp(int(payload["exp"]), tz=UTC),
                amr=tuple(str(factor) for factor in amr),
            )
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise InvalidToken() from error
        record = self._sessions.find_live(claims.jti, utc_now())
        # The server-side record is the authority: a signed token must also match it.
        if (
            record is None
            or record.user_id != claims.sub
            or record.amr != claims.amr
            or abs(record.expires_at - claims.exp) > _CLOCK_ROUNDING
        ):
            raise InvalidToken()
        return claims

    def session_id(self, token: str) -> str | None:
        """The jti of a token this server signed, expired or not, without a database look-up:
        what a CSRF token is bound to."""
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                options={"verify_exp": False, "require": ["jti"]},
            )
        except jwt.PyJWTError:
            return None
        return str(payload["jti"])

    def revoke(self, claims: SessionClaims) -> bool:
        """True when this call ended the session (it was live until now). The OpenID Connect
        codes and tokens obtained from this session end with it."""
        ended = self._sessions.revoke(claims.jti, utc_now())
        self._delegations.end_session(claims.sub, claims.jti)
        return ended

    def revoke_all(self, user_id: str, keep: SessionClaims | None = None) -> int:
        """End every session of the user, but `keep` when given; returns how many ended. Every
        OpenID Connect code and token of the user ends, `keep`'s included: this is what a
        credential change or "sign out everywhere" means to the applications too."""
        keep_jti = keep.jti if keep is not None else None
        ended = self._sessions.revoke_all_for_user(user_id, utc_now(), keep_jti)
        self._delegations.end_all(user_id)
        return ended

    def end_delegations(self, user_id: str) -> int:
        """End the user's OpenID Connect codes and tokens, keeping their sessions (the face
        factor those tokens vouch for is gone)."""
        return self._delegations.end_all(user_id)
