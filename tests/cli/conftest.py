import pytest

from face_auth.config import Settings


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    """The `face-auth` command pointed at the test's database."""
    assert settings.mongodb_uri is not None
    monkeypatch.setenv("MONGODB_URI", settings.mongodb_uri.get_secret_value())
    monkeypatch.setenv("FACE_AUTH_DATABASE_NAME", settings.database_name)
    monkeypatch.setenv("FACE_AUTH_DATA_DIR", str(settings.data_dir))
    return settings
