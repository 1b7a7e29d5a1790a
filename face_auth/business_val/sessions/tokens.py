from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from face_auth.business_val.oidc.rules import OidcRevocation
from face_auth.constant import FACTOR_FACE, FACTOR_PASSWORD
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


def end_all_sessions(
    sessions: SessionRepository,
    delegations: OidcRevocation,
    user_id: str,
    keep_jti: str | None = None,
) -> int:
    """The one rule that ends every session of a user (but `keep_jti`): sign out everywhere,
    a password change, an administrator's face reset or lock, account deletion. Every OpenID
    Connect code and token of the user ends too (`keep_jti`'s included: this is what a
    credential change means to the applications). Returns how many live sessions ended."""
    ended = sessions.revoke_all_for_user(user_id, utc_now(), keep_jti)
    delegations.end_all(user_id)
    return ended


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
        self,
        user_id: str,
        amr: list[str],
        lifetime: timedelta,
        now: datetime | None = None,
        auth_time: datetime | None = None,
    ) -> IssuedToken:
        """`auth_time`: when both factors were proven, kept in the session's record for the
        recent-auth rule; a full session issued without one was signed in at `now`."""
        issued_at = (now or utc_now()).replace(microsecond=0)
        if auth_time is None and {FACTOR_PASSWORD, FACTOR_FACE} <= set(amr):
            auth_time = issued_at
        claims = SessionClaims(
            sub=user_id,
            jti=new_token_id(),
            iat=issued_at,
            exp=issued_at + lifetime,
            amr=tuple(amr),
            auth_time=auth_time,
        )
        payload = {
            "sub": claims.sub,
            "jti": claims.jti,
            "iat": int(claims.iat.timestamp()),
            "exp": int(claims.exp.timestamp()),
            "amr": list(claims.amr),
        }
        self._sessions.add(claims.jti, user_id, list(amr), claims.iat, claims.exp, auth_time)
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
        return claims.model_copy(update={"auth_time": record.auth_time})

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
        """End every session of the user, but `keep` when given, and every OpenID Connect code
        and token of the user (end_all_sessions); returns how many sessions ended."""
        keep_jti = keep.jti if keep is not None else None
        return end_all_sessions(self._sessions, self._delegations, user_id, keep_jti)

    def end_delegations(self, user_id: str) -> int:
        """End the user's OpenID Connect codes and tokens, keeping their sessions (the face
        factor those tokens vouch for is gone)."""
        return self._delegations.end_all(user_id)

    def reauthenticated(self, claims: SessionClaims) -> bool:
        """Both factors proven again on this live session (a step-up): its auth_time is now."""
        now = utc_now()
        return self._sessions.set_auth_time(claims.jti, now, now)
