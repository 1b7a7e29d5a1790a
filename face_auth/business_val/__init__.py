"""The services that hold the rules (not input validation alone, whatever the package name
says): accounts and passwords, lockouts and holds, tokens and revocation, the face factor's
enrollment and verification decisions, one-time codes, the OpenID Connect provider's clients,
codes and consent. They take plain values and entities, call data_access and the face
pipeline, and raise domain exceptions; they know nothing of HTTP."""

from face_auth.business_val.accounts.service import (
    AccountService,
    LoginResult,
    RegistrationRequest,
)
from face_auth.business_val.health import ReadinessCheck
from face_auth.business_val.password.hashing import PasswordHasher
from face_auth.business_val.sessions.tokens import IssuedToken, TokenService

__all__ = [
    "AccountService",
    "IssuedToken",
    "LoginResult",
    "PasswordHasher",
    "ReadinessCheck",
    "RegistrationRequest",
    "TokenService",
]
