import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from pymongo import MongoClient

from app import create_app
from face_auth.config import Settings
from face_auth.data_access import EmbeddedMongoServer


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedMongoServer]:
    """One real SecantusDB server (separate process, real socket) for the whole run."""
    server = EmbeddedMongoServer(tmp_path_factory.mktemp("mongo") / "db")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(mongo_server: EmbeddedMongoServer, tmp_path: Path) -> Settings:
    """Settings for one test: its own database on the shared server, its own data dir."""
    assert mongo_server.uri is not None
    return Settings(
        mongodb_uri=SecretStr(mongo_server.uri),
        database_name=f"test_{uuid.uuid4().hex[:12]}",
        data_dir=tmp_path / "data",
        jwt_secret=SecretStr("test-secret-" + uuid.uuid4().hex + uuid.uuid4().hex),
        db_timeout_ms=1000,
        log_level="WARNING",
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def mongo(mongo_server: EmbeddedMongoServer, settings: Settings) -> Iterator[MongoClient]:
    """Direct database access for assertions about what was stored."""
    assert mongo_server.uri is not None
    direct: MongoClient = MongoClient(mongo_server.uri, tz_aware=True)
    yield direct
    direct.drop_database(settings.database_name)
    direct.close()
