"""The one Settings object, read from the environment (prefix FACE_AUTH_) and .env."""

from face_auth.config.keys import template_master_keys
from face_auth.config.secret import load_or_create_secret
from face_auth.config.settings import Settings

__all__ = ["Settings", "load_or_create_secret", "template_master_keys"]
