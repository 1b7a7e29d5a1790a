"""The ONNX FaceNet the app runs against the TensorFlow reference, and its provisioning."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from face_auth.face_pipeline import FaceModels, embed_faces, load_models, onnx_facenet
from face_auth.face_pipeline.onnx_facenet import (
    OnnxEmbedder,
    install_onnx_facenet,
    largest_difference,
    load_onnx_embedder,
)
from face_auth.model_store import (
    ONNX_AGREEMENT_TOLERANCE,
    ModelProvisioningError,
    ModelsMissingError,
    onnx_model_path,
    onnx_record_path,
    onnx_status,
    read_onnx_record,
    require_installed_models,
    require_onnx_model,
)
from tests.pipeline.conftest import DatasetFace

pytestmark = pytest.mark.models


def test_the_app_embeds_with_onnx_runtime(face_models: FaceModels) -> None:
    assert face_models.embedder_kind == "onnx"
    assert isinstance(face_models.embedder, OnnxEmbedder)
    assert face_models.keras_model is None


def test_onnx_agrees_with_tensorflow_on_real_faces(
    face_models: FaceModels, reference_models: FaceModels, dataset_faces: list[DatasetFace]
) -> None:
    assert (face_models.embedder_kind, reference_models.embedder_kind) == ("onnx", "tensorflow")
    crops = np.stack([face.crop for face in dataset_faces])
    assert len(crops) > 90
    for size in (1, 8):
        for start in range(0, 24, size):
            batch = crops[start : start + size]
            onnx = embed_faces(face_models.embedder, batch)
            reference = embed_faces(reference_models.embedder, batch)
            assert np.abs(onnx - reference).max() < ONNX_AGREEMENT_TOLERANCE
    onnx = embed_faces(face_models.embedder, crops)
    reference = embed_faces(reference_models.embedder, crops)
    assert np.abs(onnx - reference).max() < ONNX_AGREEMENT_TOLERANCE
    assert float(np.min(np.sum(onnx * reference, axis=1))) > 1 - 1e-6


def test_agreement_check_notices_another_network(
    face_models: FaceModels, reference_models: FaceModels
) -> None:
    assert largest_difference(reference_models.embedder, face_models.embedder) < 1e-5

    def scaled_input(batch: np.ndarray) -> np.ndarray:
        return face_models.embedder(batch * 0.9)

    assert largest_difference(reference_models.embedder, scaled_input) > ONNX_AGREEMENT_TOLERANCE


def test_install_recorded_the_pinned_weights_and_the_measured_agreement(models_dir: Path) -> None:
    record = read_onnx_record(models_dir)
    assert record is not None
    assert record.largest_difference < ONNX_AGREEMENT_TOLERANCE
    assert onnx_status(models_dir).installed
    assert require_onnx_model(models_dir) == onnx_model_path(models_dir)


def copy_of_conversion(models_dir: Path, target: Path) -> Path:
    shutil.copytree(onnx_model_path(models_dir).parent, onnx_model_path(target).parent)
    return target


def test_missing_conversion_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(ModelsMissingError, match="face-auth models install"):
        require_onnx_model(tmp_path)
    assert not onnx_status(tmp_path).installed


@pytest.mark.parametrize(
    ("field", "value"),
    [("source_sha256", "0" * 64), ("opset", None), ("largest_difference", 0.01)],
)
def test_record_of_other_weights_or_malformed_is_refused(
    models_dir: Path, tmp_path: Path, field: str, value: object
) -> None:
    copy = copy_of_conversion(models_dir, tmp_path)
    record = json.loads(onnx_record_path(copy).read_text())
    record[field] = value
    onnx_record_path(copy).write_text(json.dumps(record))
    with pytest.raises(ModelsMissingError, match="not converted"):
        require_onnx_model(copy)
    assert not onnx_status(copy).installed


def test_changed_or_truncated_conversion_is_refused_at_start_up(
    models_dir: Path, tmp_path: Path
) -> None:
    copy = copy_of_conversion(models_dir, tmp_path)
    path = onnx_model_path(copy)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one weight changed, same size
    path.write_bytes(bytes(data))
    with pytest.raises(ModelsMissingError, match="sha256 mismatch"):
        require_onnx_model(copy)
    path.write_bytes(bytes(data[:1000]))
    with pytest.raises(ModelsMissingError, match="sha256 mismatch"):
        require_onnx_model(copy)
    with pytest.raises(ModelsMissingError, match="cannot be loaded"):
        load_onnx_embedder(path, 1)


def test_load_models_refuses_to_start_without_the_conversion(
    models_dir: Path, tmp_path: Path
) -> None:
    for name in (".deepface", "face_landmark"):
        (tmp_path / name).symlink_to((models_dir / name).resolve())
    with pytest.raises(ModelsMissingError, match="ONNX FaceNet"):
        require_installed_models(tmp_path, onnx=True)
    require_installed_models(tmp_path, onnx=False)
    with pytest.raises(ModelsMissingError, match="ONNX FaceNet"):
        load_models(tmp_path, engine="onnx", warm_up=False)


def test_the_onnx_engine_loads_without_the_keras_weights(models_dir: Path, tmp_path: Path) -> None:
    """The image carries the conversions alone (no FaceNet .h5): the "onnx" engine starts,
    the "tensorflow" one names the missing weights."""
    for entry in models_dir.iterdir():
        if entry.name != ".deepface":
            (tmp_path / entry.name).symlink_to(entry.resolve())
    require_installed_models(tmp_path, onnx=True, int8=True)
    models = load_models(tmp_path, engine="onnx", int8=True, warm_up=False)
    assert models.weights_path is None and models.embedder_kind == "onnx"
    with pytest.raises(ModelsMissingError, match="face-auth models install"):
        require_installed_models(tmp_path, onnx=False)


def fake_converter(models_dir: Path) -> Callable[[object, Path], None]:
    """Stands in for tf2onnx: "converts" to a copy of the installed conversion."""

    def convert(_keras_model: object, target: Path) -> None:
        shutil.copyfile(onnx_model_path(models_dir), target)

    return convert


def test_a_conversion_that_disagrees_is_not_installed(
    models_dir: Path, reference_models: FaceModels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx_facenet, "_convert", fake_converter(models_dir))

    def other_network(batch: np.ndarray) -> np.ndarray:
        return reference_models.embedder(batch * 0.9)

    with pytest.raises(ModelProvisioningError, match="disagrees with TensorFlow"):
        install_onnx_facenet(tmp_path, other_network, None)
    assert sorted(path.name for path in onnx_model_path(tmp_path).parent.iterdir()) == []
    assert not onnx_status(tmp_path).installed

    record = install_onnx_facenet(tmp_path, reference_models.embedder, None)
    assert record.largest_difference < ONNX_AGREEMENT_TOLERANCE
    assert require_onnx_model(tmp_path) == onnx_model_path(tmp_path)
    assert sorted(path.name for path in onnx_model_path(tmp_path).parent.iterdir()) == [
        "facenet128.json",
        "facenet128.onnx",
    ]
