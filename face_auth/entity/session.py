from datetime import datetime

from pydantic import BaseModel, ConfigDict

from face_auth.constant import FACTOR_FACE, FACTOR_PASSWORD


class SessionClaims(BaseModel):
    """The verified claims of an access token."""

    model_config = ConfigDict(frozen=True)

    sub: str
    jti: str
    iat: datetime
    exp: datetime
    amr: tuple[str, ...]
    # When both factors were last proven for this session (its sign-in, or a step-up): from
    # the server-side record, never from the token. None: never (a password-only session).
    auth_time: datetime | None = None

    @property
    def is_full(self) -> bool:
        return FACTOR_PASSWORD in self.amr and FACTOR_FACE in self.amr
