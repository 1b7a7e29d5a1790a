"""MTCNN (on LiteRT and on ONNX Runtime) and the landmark model agree with their TensorFlow
originals on the dataset's photos (issue 25), and the conversions are checked like FaceNet's.

Tolerances (what `face-auth models install` promises, and what is measured here):
- MTCNN, whole detector, on either runtime: the same faces in every photo; boxes and the 5
  keypoints (mtcnn rounds them to whole pixels) within 1 px, confidences within 1e-4
  (measured on the 118 photos: identical boxes and keypoints, confidences within 5e-5);
- the landmark model: the 468 points within LANDMARK_AGREEMENT_TOLERANCE (0.01 px) of
  TFLite's in its 192 px crop, the presence logit too (measured: ~1.5e-4). The app runs the
  pinned file itself on LiteRT: its points are TensorFlow's interpreter's, bit for bit.
"""

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
import pytest

from face_auth.face_pipeline import (
    FaceModels,
    FrameRejected,
    detect_faces,
    detect_faces_batch,
    load_models,
    onnx_mtcnn,
    select_face,
)
from face_auth.face_pipeline import mtcnn_numpy as mn
from face_auth.face_pipeline.landmarks import (
    LandmarkModel,
    OnnxLandmarkModel,
    TfliteLandmarkModel,
    face_landmarks,
    face_landmarks_batch,
    landmark_crop,
    load_litert_landmark_model,
    load_onnx_landmark_model,
)
from face_auth.face_pipeline.onnx_mtcnn import (
    NETWORKS,
    LiteRtNetwork,
    OnnxMTCNN,
    load_litert_mtcnn,
    load_litert_network,
    load_onnx_mtcnn,
)
from face_auth.model_store import (
    DETECTOR_CONVERSIONS,
    LANDMARK_AGREEMENT_TOLERANCE,
    LANDMARK_ONNX,
    MTCNN_ONNX,
    MTCNN_TFLITE,
    ModelsMissingError,
    landmark_model_path,
    onnx_model_path,
    onnx_status,
    read_onnx_record,
    require_onnx_model,
)
from tests.pipeline.helpers import DATASET_CONFIG, Photo, load_rgb

pytestmark = pytest.mark.models

BOX_TOLERANCE_PX = 1
CONFIDENCE_TOLERANCE = 1e-4
# OpenCV's area resize against TensorFlow's, on normalised pixels in [-1, 1]: the same means
# summed in another order (measured: 1.9e-5 at most, on noise; 0.0025 grey levels is 2.5e-5).
AREA_RESIZE_TOLERANCE = 5e-5


def test_the_serving_models_are_the_conversions_on_litert(face_models: FaceModels) -> None:
    assert face_models.embedder_kind == "onnx"
    assert isinstance(face_models.detector, OnnxMTCNN)
    for name in NETWORKS:
        network = getattr(face_models.detector, name)
        assert isinstance(network, LiteRtNetwork)
        assert network.path.name == f"{name}.tflite"
    assert isinstance(face_models.landmarker, TfliteLandmarkModel)
    assert face_models.landmarker.runtime == "litert"


@pytest.fixture(scope="module", params=["litert", "onnx"])
def detector(request: pytest.FixtureRequest, models_dir: Path) -> OnnxMTCNN:
    """The app's detector on each runtime FACE_AUTH_FACE_DETECTOR_RUNTIME offers."""
    if request.param == "litert":
        paths = {name: onnx_model_path(models_dir, MTCNN_TFLITE[name]) for name in NETWORKS}
        return load_litert_mtcnn(paths, 2)
    paths = {name: onnx_model_path(models_dir, MTCNN_ONNX[name]) for name in NETWORKS}
    return load_onnx_mtcnn(paths, 2)


def test_every_conversion_is_recorded_and_agreed_at_install(models_dir: Path) -> None:
    for conversion in DETECTOR_CONVERSIONS:
        record = read_onnx_record(models_dir, conversion)
        assert record is not None, conversion.name
        assert record.source_sha256 == conversion.source_sha256
        assert 0 <= record.largest_difference <= conversion.tolerance
        assert onnx_status(models_dir, conversion).installed
    for name, conversion in MTCNN_ONNX.items():
        ops = {
            node.op_type for node in onnx.load(onnx_model_path(models_dir, conversion)).graph.node
        }
        # The PReLUs were rewritten (no Neg left from Keras's formula) and the nets are convs.
        assert "Neg" not in ops and "Conv" in ops, name


def test_a_changed_or_missing_conversion_stops_loading(models_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "models"
    shutil.copytree(models_dir, copy)
    pnet = onnx_model_path(copy, MTCNN_ONNX["pnet"])
    data = bytearray(pnet.read_bytes())
    data[-1] ^= 0xFF
    pnet.write_bytes(bytes(data))
    with pytest.raises(ModelsMissingError, match=r"MTCNN PNET.*sha256 mismatch"):
        require_onnx_model(copy, MTCNN_ONNX["pnet"])
    onnx_model_path(copy, LANDMARK_ONNX).unlink()
    with pytest.raises(ModelsMissingError, match="face-landmark model"):
        require_onnx_model(copy, LANDMARK_ONNX)
    with pytest.raises(ModelsMissingError, match=r"MTCNN PNET .*models install"):
        load_models(copy, engine="onnx", warm_up=False, detector_runtime="onnx")
    load_models(copy, engine="onnx", warm_up=False)  # the defaults need neither file
    onnx_model_path(copy, MTCNN_TFLITE["onet"]).unlink()
    with pytest.raises(ModelsMissingError, match=r"TFLite MTCNN ONET .*models install"):
        load_models(copy, engine="onnx", warm_up=False)


def test_a_tflite_file_litert_cannot_run_as_a_network_is_refused(
    models_dir: Path, tmp_path: Path
) -> None:
    garbage = tmp_path / "pnet.tflite"
    garbage.write_bytes(b"not a flatbuffer" * 64)
    with pytest.raises(ModelsMissingError, match=r"cannot be loaded.*models install"):
        load_litert_network(garbage, "pnet", 1)
    # RNet's file where ONet's is expected: its outputs are not ONet's three.
    with pytest.raises(ModelsMissingError, match=r"widths \[2, 4\], not \[2, 4, 10\]"):
        load_litert_network(onnx_model_path(models_dir, MTCNN_TFLITE["rnet"]), "onet", 1)


def test_litert_networks_resize_and_serve_threads_at_once(models_dir: Path, tmp_path: Path) -> None:
    """One network serves batches of changing shapes (PNet's pyramid levels) from several
    threads at once: each call gets the outputs a fresh interpreter gives for its batch. The
    interpreters it adds are made from the bytes read (and checked) at load, not the file."""
    path = onnx_model_path(models_dir, MTCNN_TFLITE["pnet"])
    rng = np.random.default_rng(7)
    shapes = [(2, 72, 96, 3), (3, 37, 29, 3), (1, 12, 12, 3), (2, 72, 96, 3), (4, 51, 68, 3)]
    batches = [rng.uniform(-1, 1, shape).astype(np.float32) for shape in shapes]
    expected = [load_litert_network(path, "pnet", 1)(batch) for batch in batches]
    copy = tmp_path / "pnet.tflite"
    shutil.copyfile(path, copy)
    network = load_litert_network(copy, "pnet", 1)
    copy.write_bytes(b"changed after the start-up check")
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = list(pool.map(network, batches * 6))
    for index, outputs in enumerate(found):
        wanted = expected[index % len(batches)]
        assert [output.shape for output in outputs] == [output.shape for output in wanted]
        assert all(np.array_equal(a, b) for a, b in zip(outputs, wanted, strict=True)), index
    assert found[0][0].shape[-1] == 4 and found[0][1].shape[-1] == 2  # Keras's order


def test_area_resize_and_crop_and_resize_match_tensorflow(reference_models: FaceModels) -> None:
    import tensorflow as tf  # noqa: PLC0415 - after reference_models prepared TensorFlow

    rng = np.random.default_rng(25)
    images = rng.uniform(-1, 1, (3, 240, 320, 3)).astype(np.float32)
    for scale in mn.build_scale_pyramid(320, 240, 20, 0.709):
        expected = tf.image.resize(images, np.asarray([240, 320]) * scale, method="area").numpy()
        actual = mn.scale_images(images, scale)
        assert actual.shape == expected.shape
        assert np.abs(actual - expected).max() < AREA_RESIZE_TOLERANCE, scale
    boxes = np.column_stack([
        rng.integers(0, 3, 40), rng.uniform(-30, 300, 40), rng.uniform(-30, 220, 40),
    ])  # fmt: skip
    sides = rng.uniform(5, 120, 40)
    bboxes = np.column_stack([boxes, boxes[:, 1] + sides, boxes[:, 2] + sides])
    coords = bboxes[:, [2, 1, 4, 3]] / np.asarray([[240, 320, 240, 320]])
    for size in ((24, 24), (48, 48)):
        expected = tf.image.crop_and_resize(images, coords, bboxes[:, 0].astype(int), size)
        actual = mn.extract_patches(images, bboxes, size)
        assert np.abs(actual - expected.numpy()).max() < 1e-5


def assert_same_faces(expected: list[dict], actual: list[dict], where: str) -> None:
    assert len(actual) == len(expected), where
    for mine, theirs in zip(actual, expected, strict=True):
        assert np.abs(np.subtract(mine["box"], theirs["box"])).max() <= BOX_TOLERANCE_PX, where
        for name, point in theirs["keypoints"].items():
            offset = np.abs(np.subtract(mine["keypoints"][name], point)).max()
            assert offset <= BOX_TOLERANCE_PX, (where, name)
        assert abs(mine["confidence"] - theirs["confidence"]) <= CONFIDENCE_TOLERANCE, where


def test_onnx_mtcnn_finds_what_mtcnn_finds_on_every_photo(
    detector: OnnxMTCNN, reference_models: FaceModels, photos: list[Photo]
) -> None:
    """The detector as mtcnn.MTCNN.detect_faces returns it, photo by photo at full size
    and through the pipeline's detect_faces (shrunk to the configured smallest face)."""
    faces = 0
    for photo in photos:
        rgb = load_rgb(photo.path).astype(np.float32)
        expected = reference_models.detector.detect_faces(rgb)
        assert_same_faces(expected, detector.detect_faces(rgb), photo.path.name)
        faces += len(expected)
        mine = detect_faces(detector, rgb, DATASET_CONFIG)
        theirs = detect_faces(reference_models.detector, rgb, DATASET_CONFIG)
        assert len(mine) == len(theirs), photo.path.name
        for ours, reference in zip(mine, theirs, strict=True):
            assert np.abs(np.subtract(ours.box, reference.box)).max() <= BOX_TOLERANCE_PX
    assert faces >= len(photos)


def test_onnx_mtcnn_batches_like_mtcnn(
    detector: OnnxMTCNN, reference_models: FaceModels, photos: list[Photo]
) -> None:
    """A request's batch (frames of one size in one call), and frames of different sizes
    (mtcnn pads them to the largest and shifts the results back)."""
    rgbs = [load_rgb(photo.path).astype(np.float32) for photo in photos[::15]]
    same_size = [rgbs[0], rgbs[0][:, ::-1].copy(), rgbs[0] * 0.8]
    for batch in (same_size, rgbs[:4]):
        expected = reference_models.detector.detect_faces(batch)
        actual = detector.detect_faces(batch)
        for index, (theirs, mine) in enumerate(zip(expected, actual, strict=True)):
            assert_same_faces(theirs, mine, f"image {index}")
    pipeline = detect_faces_batch(detector, same_size, DATASET_CONFIG)
    reference = detect_faces_batch(reference_models.detector, same_size, DATASET_CONFIG)
    assert [[f.box for f in faces] for faces in pipeline] == [
        [f.box for f in faces] for faces in reference
    ]


def test_network_calls_are_bounded_and_split_calls_find_the_same_faces(
    detector: OnnxMTCNN, photos: list[Photo], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No network call takes more than MAX_CALL_PIXELS input pixels (but for one row that
    is larger), and splitting the batches changes nothing: PNet's frames one at a time,
    RNet's and ONet's candidates 4 and 1 at a time, give what whole batches give."""
    image = load_rgb(photos[0].path).astype(np.float32)
    batch = [image, image[:, ::-1].copy(), image * 0.8]
    shapes: list[tuple[int, ...]] = []

    def recorded(network: onnx_mtcnn.Network) -> onnx_mtcnn.Network:
        def run(rows: np.ndarray) -> list[np.ndarray]:
            shapes.append(rows.shape)
            return network(rows)

        return run

    recording = OnnxMTCNN(*(recorded(getattr(detector, name)) for name in NETWORKS))
    monkeypatch.setattr(onnx_mtcnn, "MAX_CALL_PIXELS", 10**12)
    whole = recording.detect_faces(batch)
    assert max(shape[0] for shape in shapes) > 4 and whole[0]
    shapes.clear()
    monkeypatch.setattr(onnx_mtcnn, "MAX_CALL_PIXELS", onnx_mtcnn.ONET_SIDE**2)
    assert recording.detect_faces(batch) == whole
    for rows, height, width, _ in shapes:
        assert rows == 1 or rows * height * width <= onnx_mtcnn.ONET_SIDE**2


def test_no_face_and_too_small_images_find_nothing_as_in_mtcnn(
    detector: OnnxMTCNN, reference_models: FaceModels
) -> None:
    blank = np.full((480, 640, 3), 128, np.float32)
    tiny = np.random.default_rng(1).uniform(0, 255, (15, 18, 3)).astype(np.float32)
    for image in (blank, tiny):
        assert reference_models.detector.detect_faces(image) == []
        assert detector.detect_faces(image) == []
    # A pyramid level under PNet's 11 px: mtcnn swallows TensorFlow's error, no face at all.
    assert detector.detect_faces(blank, min_face_size=40) == []


def test_the_onnx_landmark_runtime_serves_the_conversion(models_dir: Path) -> None:
    models = load_models(models_dir, engine="onnx", warm_up=False, landmark_runtime="onnx")
    assert isinstance(models.landmarker, OnnxLandmarkModel)


def landmark_runtimes(models_dir: Path) -> dict[str, LandmarkModel]:
    return {
        "litert": load_litert_landmark_model(landmark_model_path(models_dir), 2),
        "onnx": load_onnx_landmark_model(onnx_model_path(models_dir, LANDMARK_ONNX), 2),
    }


@pytest.mark.parametrize(
    ("runtime", "tolerance"), [("litert", 0.0), ("onnx", LANDMARK_AGREEMENT_TOLERANCE)]
)
def test_the_serving_landmarks_match_tflite_on_every_face(
    face_models: FaceModels,
    reference_models: FaceModels,
    photos: list[Photo],
    models_dir: Path,
    runtime: str,
    tolerance: float,
) -> None:
    """LiteRT runs the pinned file itself: the very points of TensorFlow's interpreter. The
    ONNX conversion (FACE_AUTH_FACE_LANDMARK_RUNTIME=onnx) agrees within its install
    tolerance."""
    assert reference_models.landmarker is not None
    model, tflite_model = landmark_runtimes(models_dir)[runtime], reference_models.landmarker
    faces = []
    for photo in photos:
        rgb = load_rgb(photo.path)
        try:
            face = select_face(
                detect_faces(face_models.detector, rgb, DATASET_CONFIG), DATASET_CONFIG
            )
        except FrameRejected:
            continue
        faces.append((rgb, face))
    crops = np.stack([landmark_crop(rgb, face)[0] for rgb, face in faces])
    points, logits = model.raw(crops)  # type: ignore[attr-defined]
    expected_points, expected_logits = tflite_model.raw(crops)  # type: ignore[attr-defined]
    worst = float(np.abs(points - expected_points).max())
    assert np.abs(logits - expected_logits).max() <= tolerance
    mine = face_landmarks_batch(model, faces)
    for (rgb, face), ours in zip(faces, mine, strict=True):
        theirs = face_landmarks(tflite_model, rgb, face)
        # In image pixels the crop's scale applies (faces here are up to ~3x the crop).
        assert np.abs(ours.points - theirs.points).max() <= 5 * tolerance
        assert ours.presence == pytest.approx(theirs.presence, abs=max(tolerance, 1e-12))
    checked = len(faces)
    assert worst <= tolerance, worst
    assert checked >= 100
