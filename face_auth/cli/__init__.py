"""The `face-auth` command."""

from face_auth.cli.main import main

__all__ = ["main"]
