"""face_auth: two-factor (password + face) web login."""

__version__ = "0.1.0"
