"""The rules: registration, password check, tokens and revocation."""

from face_auth.business_val.accounts import (
    AccountService,
    LoginResult,
    RegistrationRequest,
)
from face_auth.business_val.health import ReadinessCheck
from face_auth.business_val.passwords import PasswordHasher
from face_auth.business_val.tokens import IssuedToken, TokenService

__all__ = [
    "AccountService",
    "IssuedToken",
    "LoginResult",
    "PasswordHasher",
    "ReadinessCheck",
    "RegistrationRequest",
    "TokenService",
]
