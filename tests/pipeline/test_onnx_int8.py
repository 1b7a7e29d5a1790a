"""FaceNet in INT8, the app's default: its install check, its agreement with float32 on real
faces it was not calibrated on, and the decisions it leads to."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from face_auth.config import Settings
from face_auth.face_pipeline import FaceModels, embed_faces, load_models, prewhiten
from face_auth.face_pipeline.onnx_facenet import OnnxEmbedder
from face_auth.face_pipeline.onnx_int8 import (
    CALIBRATION_SPLIT,
    least_cosine,
)
from face_auth.model_store import (
    FACENET_INT8,
    INT8_AGREEMENT_TOLERANCE,
    ModelsMissingError,
    onnx_model_path,
    onnx_status,
    read_onnx_record,
    require_installed_models,
)
from tests.pipeline.conftest import DatasetFace

pytestmark = pytest.mark.models


def held_out(faces: list[DatasetFace]) -> list[DatasetFace]:
    """The faces of photos outside the calibration split."""
    return [face for face in faces if face.photo.split != CALIBRATION_SPLIT]


def test_the_app_runs_the_int8_facenet_by_default(int8_models: FaceModels) -> None:
    assert Settings().face_embedder_int8 is True
    assert isinstance(int8_models.embedder, OnnxEmbedder)
    path = Path(int8_models.embedder.session._model_path)  # onnxruntime keeps its source
    assert path.name == FACENET_INT8.model.name
    record = read_onnx_record(path.parent.parent, FACENET_INT8)
    assert record is not None and record.largest_difference <= INT8_AGREEMENT_TOLERANCE


def test_int8_agrees_with_float32_on_faces_it_was_not_calibrated_on(
    face_models: FaceModels, int8_models: FaceModels, dataset_faces: list[DatasetFace]
) -> None:
    faces = held_out(dataset_faces)
    assert len(faces) >= 20
    crops = np.stack([face.crop for face in faces]).astype(np.float32)
    least = least_cosine(face_models.embedder, int8_models.embedder, prewhiten(crops))
    assert least >= 1 - INT8_AGREEMENT_TOLERANCE


def test_int8_and_float32_decide_alike_at_the_threshold(
    face_models: FaceModels, int8_models: FaceModels, dataset_faces: list[DatasetFace]
) -> None:
    """Each held-out face against every other: same person or not, at the app's threshold,
    the two precisions agree on all but pairs within 0.03 of it (single photos move by up
    to ~0.02; a template averages 8 frames)."""
    threshold = Settings().face_match_threshold
    faces = held_out(dataset_faces)
    crops = np.stack([face.crop for face in faces])
    floats = embed_faces(face_models.embedder, crops)
    ints = embed_faces(int8_models.embedder, crops)
    float_scores, int_scores = floats @ floats.T, ints @ ints.T
    pairs = np.triu_indices(len(faces), 1)
    float_pairs, int_pairs = float_scores[pairs], int_scores[pairs]
    assert np.abs(float_pairs - int_pairs).max() < 0.03
    clear = np.abs(float_pairs - threshold) >= 0.03
    assert clear.sum() > 0.9 * len(float_pairs)
    assert np.array_equal((float_pairs >= threshold)[clear], (int_pairs >= threshold)[clear])


def test_a_changed_int8_file_stops_the_app(models_dir: Path, tmp_path: Path) -> None:
    for entry in models_dir.iterdir():
        if entry.name != "facenet":
            (tmp_path / entry.name).symlink_to(entry.resolve())
    shutil.copytree(models_dir / "facenet", tmp_path / "facenet")
    require_installed_models(tmp_path, onnx=True, int8=True)
    path = onnx_model_path(tmp_path, FACENET_INT8)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert not onnx_status(tmp_path, FACENET_INT8).installed
    with pytest.raises(ModelsMissingError, match="FaceNet INT8"):
        require_installed_models(tmp_path, onnx=True, int8=True)
    with pytest.raises(ModelsMissingError, match="FaceNet INT8"):
        load_models(tmp_path, engine="onnx", int8=True, warm_up=False)
    require_installed_models(tmp_path, onnx=True, int8=False)  # float32 is untouched
