"""End-to-end checks of the pipeline with the real models and real photos."""

import io
import socket
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from app import pipeline_config
from face_auth.config import Settings
from face_auth.face_pipeline import (
    EmbeddingResult,
    FaceDetection,
    FaceModels,
    ModelLoadError,
    PipelineConfig,
    ReasonCode,
    analyse_frame,
    analyse_rgb,
    cosine_similarity,
    detect_faces,
    detect_faces_batch,
    embed_and_judge,
    embed_faces,
    embed_frames,
    l2_normalize,
    load_models,
    mean_embedding,
    prewhiten,
)
from face_auth.face_pipeline.embed import run_model
from face_auth.face_pipeline.models import warm_up_frames
from face_auth.model_store import weights_path
from tests.face_data import as_camera_frame, jpeg
from tests.pipeline.conftest import DatasetFace
from tests.pipeline.helpers import (
    DATASET_CONFIG,
    Photo,
    encode,
    equal_error_rate,
    gradient_image,
    jpeg_declaring,
    load_rgb,
    resize_to_height,
    two_face_composite,
)

pytestmark = pytest.mark.models

# The app's default decision threshold (calibrated in docs/accuracy.md).
THRESHOLD = Settings().face_match_threshold
ENROLL_FRAMES = 8


def by_person(photos: list[Photo], split: str) -> dict[str, list[Photo]]:
    grouped: dict[str, list[Photo]] = defaultdict(list)
    for photo in photos:
        if photo.split == split:
            grouped[photo.person].append(photo)
    return grouped


def embed_paths(models: FaceModels, paths: list[Path]) -> EmbeddingResult:
    return embed_frames(models, [path.read_bytes() for path in paths], DATASET_CONFIG)


def test_weights_come_from_deepface_home_without_network(
    reference_models: FaceModels, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deepface.commons import weight_utils  # noqa: PLC0415 - imported by load_models

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    found = weight_utils.download_weights_if_necessary(
        file_name="facenet_weights.h5", source_url="https://invalid.example/facenet_weights.h5"
    )
    assert Path(found) == weights_path(models_dir).resolve()
    assert reference_models.weights_path == weights_path(models_dir)
    assert reference_models.keras_model is not None
    assert reference_models.keras_model.output_shape == (None, 128)


@pytest.fixture(scope="module")
def camera_embeddings(face_models: FaceModels, photos: list[Photo]) -> dict[str, np.ndarray]:
    """Per person, the embedding of one camera-like 640x480 frame of each photo that the
    app's own gates accept (one frame per photo, so the frames of a login vary like
    separate sittings): what enrollment and verification are made of."""
    config = pipeline_config(Settings())
    found: dict[str, list[np.ndarray]] = defaultdict(list)
    for photo in photos:
        frame = as_camera_frame(face_models, photo.path)
        if frame is None:
            continue
        result = embed_frames(face_models, [jpeg(frame)], config)
        if result.embedding is not None:
            found[photo.person].append(result.embedding)
    return {person: np.stack(rows) for person, rows in found.items()}


def test_login_protocol_accepts_everyone_and_refuses_every_impostor_template(
    camera_embeddings: dict[str, np.ndarray],
) -> None:
    """Each person enrolled from 8 frames and verified from 5 to 8 frames of other photos:
    every genuine login passes the default threshold, every other template stays below it."""
    templates, logins = {}, {}
    for person, rows in camera_embeddings.items():
        assert len(rows) >= ENROLL_FRAMES + 5, f"{person}: only {len(rows)} usable frames"
        templates[person] = mean_embedding(rows[:ENROLL_FRAMES])
        logins[person] = [
            mean_embedding(rows[start : start + frames])
            for frames in (5, 8)
            for start in range(ENROLL_FRAMES, len(rows) - frames + 1)
        ]
    genuine = [
        cosine_similarity(templates[person], login)
        for person, probes in logins.items()
        for login in probes
    ]
    impostor = {
        (enrolled, other): max(cosine_similarity(template, login) for login in logins[other])
        for enrolled, template in templates.items()
        for other in logins
        if other != enrolled
    }
    nearest = max(impostor, key=impostor.__getitem__)
    closest = impostor[nearest]
    print(
        f"\nthreshold {THRESHOLD}: {len(genuine)} genuine logins, lowest {min(genuine):.3f} "
        f"(margin {min(genuine) - THRESHOLD:+.3f}); nearest impostor {nearest[1]} on "
        f"{nearest[0]}'s template {closest:.3f} (margin {THRESHOLD - closest:+.3f})"
    )
    assert min(genuine) >= THRESHOLD
    assert max(impostor.values()) < THRESHOLD - 0.2


def test_embedding_result_reports_every_frame(face_models: FaceModels, photos: list[Photo]) -> None:
    frames = [photos[0].path.read_bytes(), b"GIF89a not really", photos[1].path.read_bytes()]
    result = embed_frames(face_models, frames, DATASET_CONFIG)
    assert [frame.index for frame in result.frames] == [0, 1, 2]
    assert [frame.accepted for frame in result.frames] == [True, False, True]
    assert result.frames[1].reason_code == ReasonCode.UNSUPPORTED_FORMAT
    assert result.frames[1].reason == "unsupported image format"
    assert result.used == 2
    assert result.embeddings is not None and result.embeddings.shape == (2, 128)
    assert result.embedding is not None and result.embedding.shape == (128,)
    assert np.linalg.norm(result.embedding) == pytest.approx(1.0, rel=1e-5)
    accepted = result.frames[0]
    assert accepted.confidence is not None and accepted.confidence >= 0.9
    assert accepted.box is not None and accepted.faces == 1


def rejection(models: FaceModels, data: bytes, config: PipelineConfig) -> ReasonCode:
    result = embed_frames(models, [data], config)
    assert result.embedding is None and result.used == 0
    return result.frames[0].reason_code


def test_images_without_a_face_are_rejected(face_models: FaceModels, photos: list[Photo]) -> None:
    assert rejection(face_models, encode(gradient_image()), DATASET_CONFIG) == ReasonCode.NO_FACE
    # The top-left corner of a portrait: background, hair or shoulder, never a whole face.
    corner = load_rgb(photos[0].path)
    corner = corner[: corner.shape[0] // 4, : corner.shape[1] // 4]
    corner = resize_to_height(corner, 240)
    assert rejection(face_models, encode(corner), DATASET_CONFIG) == ReasonCode.NO_FACE


def test_two_people_side_by_side_are_rejected(
    face_models: FaceModels, dataset_faces: list[DatasetFace]
) -> None:
    clear = [face for face in dataset_faces if face.confidence > 0.995 and face.size >= 70]
    first = next(face for face in clear if face.photo.person == "jerry_seinfeld")
    second = next(face for face in clear if face.photo.person == "madonna")
    composite = two_face_composite(load_rgb(first.photo.path), load_rgb(second.photo.path))
    result = embed_frames(face_models, [encode(composite)], DATASET_CONFIG).frames[0]
    assert result.reason_code == ReasonCode.TWO_FACES
    assert result.reason == "someone else is in the picture"
    assert result.faces == 2
    # Each half alone is accepted, so it is the pair that is refused.
    half = composite[:, : composite.shape[1] // 2]
    assert embed_frames(face_models, [encode(half)], DATASET_CONFIG).frames[0].accepted


def test_bad_files_are_rejected_with_their_codes(
    face_models: FaceModels, photos: list[Photo]
) -> None:
    rgb = load_rgb(photos[0].path)
    jpeg = encode(rgb, "JPEG", quality=90)
    cases = {
        ReasonCode.CORRUPT_IMAGE: [jpeg[:4] + bytes(reversed(jpeg[4:])), jpeg[: len(jpeg) // 2]],
        ReasonCode.UNSUPPORTED_FORMAT: [encode(rgb, "GIF"), encode(rgb, "BMP")],
        ReasonCode.IMAGE_TOO_LARGE: [jpeg_declaring(12_000, 10_000)],
    }
    for code, payloads in cases.items():
        for data in payloads:
            assert rejection(face_models, data, DATASET_CONFIG) == code
    assert embed_frames(face_models, [jpeg], DATASET_CONFIG).frames[0].accepted


def test_default_gates_on_a_webcam_sized_face(
    face_models: FaceModels, dataset_faces: list[DatasetFace]
) -> None:
    """With the production defaults: a large sharp face passes, blur and darkness do not."""
    config = PipelineConfig()
    photo = next(f.photo for f in dataset_faces if f.photo.person == "jerry_seinfeld")
    rgb = resize_to_height(load_rgb(photo.path), 640)
    accepted, _ = analyse_rgb(face_models, rgb, 0, config)
    assert accepted.accepted, accepted
    blurred, _ = analyse_rgb(face_models, cv2.GaussianBlur(rgb, (0, 0), 5), 0, config)
    assert blurred.reason_code == ReasonCode.TOO_DARK_OR_BLURRY
    dark = (rgb.astype(np.float32) * 0.2).astype(np.uint8)
    assert analyse_rgb(face_models, dark, 0, config)[0].reason_code in {
        ReasonCode.TOO_DARK_OR_BLURRY,
        ReasonCode.NO_FACE,
    }
    small = resize_to_height(rgb, 160)
    assert analyse_rgb(face_models, small, 0, config)[0].reason_code in {
        ReasonCode.FACE_TOO_SMALL,
        ReasonCode.NO_FACE,
    }


def test_exif_rotated_photo_is_turned_upright(
    face_models: FaceModels, dataset_faces: list[DatasetFace]
) -> None:
    photo = dataset_faces[0].photo
    upright = embed_paths(face_models, [photo.path])
    # Store the pixels turned 90 degrees, with the EXIF tag that turns them back.
    stored = Image.fromarray(np.rot90(load_rgb(photo.path)).copy())  # counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", quality=95, exif=exif)
    rotated = embed_frames(face_models, [buffer.getvalue()], DATASET_CONFIG)
    assert upright.embedding is not None and rotated.embedding is not None
    assert cosine_similarity(upright.embedding, rotated.embedding) > 0.9


def test_batched_embedding_equals_one_by_one(
    face_models: FaceModels, reference_models: FaceModels, dataset_faces: list[DatasetFace]
) -> None:
    crops = np.stack([face.crop for face in dataset_faces[:8]])
    for models in (face_models, reference_models):
        batched = embed_faces(models.embedder, crops)
        single = np.concatenate([embed_faces(models.embedder, crop[None]) for crop in crops])
        np.testing.assert_allclose(batched, single, atol=1e-5)
    traced = embed_faces(reference_models.embedder, crops)
    eager = l2_normalize(reference_models.keras_model.predict_on_batch(prewhiten(crops)))
    np.testing.assert_allclose(traced, eager, atol=1e-5)


def test_compiled_detector_matches_plain_mtcnn(
    face_models: FaceModels, dataset_faces: list[DatasetFace]
) -> None:
    from mtcnn import MTCNN  # noqa: PLC0415 - TensorFlow is set up by load_models

    plain_detector = MTCNN()
    for face in dataset_faces[:5]:
        rgb = load_rgb(face.photo.path)
        compiled = detect_faces(face_models.detector, rgb, DATASET_CONFIG)
        plain = detect_faces(plain_detector, rgb, DATASET_CONFIG)
        assert len(compiled) == len(plain)
        for a, b in zip(compiled, plain, strict=True):
            assert np.allclose(a.box, b.box, atol=1)
            assert np.allclose(a.left_eye + a.nose, b.left_eye + b.nose, atol=1)


def same_faces(batched: list[FaceDetection], single: list[FaceDetection]) -> None:
    assert len(batched) == len(single)
    for a, b in zip(batched, single, strict=True):
        assert np.allclose(a.box, b.box, atol=1)
        points = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
        for name in points:
            assert np.allclose(getattr(a, name), getattr(b, name), atol=0.5), name
        assert a.confidence == pytest.approx(b.confidence, abs=1e-4)


@pytest.fixture(scope="module")
def mixed_frames(face_models: FaceModels, dataset_faces: list[DatasetFace]) -> list[np.ndarray]:
    """Camera-like 640x480 frames of 6 photos, 3 photos at their own (different) sizes, a
    two-face composite, a smooth gradient (no face) and a 40x40 square (too small for MTCNN)."""
    chosen = [face.photo.path for face in dataset_faces[::9]]
    framed = [as_camera_frame(face_models, path) for path in chosen[:6]]
    frames = [frame for frame in framed if frame is not None]
    frames += [load_rgb(path) for path in chosen[6:9]]
    frames.insert(2, two_face_composite(load_rgb(chosen[0]), load_rgb(chosen[1])))
    frames.insert(4, gradient_image())
    frames.append(np.full((40, 40, 3), 128, dtype=np.uint8))
    assert len({frame.shape for frame in frames}) >= 5
    return frames


@pytest.mark.parametrize("detector_min_face_px", [20, 40, 80])
def test_batched_detection_finds_the_same_faces_as_frame_by_frame(
    face_models: FaceModels, mixed_frames: list[np.ndarray], detector_min_face_px: int
) -> None:
    """One mtcnn call for a request's frames gives every frame the boxes, landmarks and
    confidences it gets alone, at each minimum face size, with frames of several sizes."""
    config = PipelineConfig(detector_min_face_px=detector_min_face_px)
    batched = detect_faces_batch(face_models.detector, mixed_frames, config)
    single = [detect_faces(face_models.detector, frame, config) for frame in mixed_frames]
    assert len(batched) == len(mixed_frames)
    for one_batched, one_single in zip(batched, single, strict=True):
        same_faces(one_batched, one_single)
    assert sum(len(faces) > 0 for faces in single) >= 8
    assert len(single[2]) >= 2 and not single[4] and not single[-1]


def test_embed_frames_equals_frame_by_frame_analysis(
    face_models: FaceModels, mixed_frames: list[np.ndarray]
) -> None:
    """embed_frames (batched detection) accepts and refuses the frames analyse_frame does one
    at a time, for the same reasons, and embeds the same crops."""
    data = [jpeg(frame) for frame in mixed_frames[:-1]]
    for config in (PipelineConfig(), DATASET_CONFIG):
        result = embed_frames(face_models, data, config)
        alone = [analyse_frame(face_models, item, index, config) for index, item in enumerate(data)]
        # The same decisions, reasons and boxes; the confidence to float rounding (ONNX
        # Runtime's RNet and ONet sum in another order for another batch size: ~1e-7).
        assert [replace(f, confidence=None) for f in result.frames] == [
            replace(f, confidence=None) for f, _ in alone
        ]
        for batched, (single, _) in zip(result.frames, alone, strict=True):
            assert batched.confidence == pytest.approx(single.confidence, abs=1e-6)
        crops = [crop for _, crop in alone if crop is not None]
        assert result.used == len(crops) >= 3
        assert result.embeddings is not None
        expected = embed_faces(face_models.embedder, np.stack(crops))
        np.testing.assert_allclose(result.embeddings, expected, atol=1e-5)


def test_embed_and_judge_embeds_as_embed_frames_and_judges_the_same_evidence(
    face_models: FaceModels, mixed_frames: list[np.ndarray]
) -> None:
    """The liveness judge gets the request's evidence (run beside FaceNet) and its verdict
    comes back with the embedding embed_frames makes; a judge that raises stops the call."""
    data = [jpeg(frame) for frame in mixed_frames[:-1]]
    config = PipelineConfig()
    expected = embed_frames(face_models, data, config, keep=4, evidence=True)
    seen: list[list[object]] = []

    def judge(evidence: list[object]) -> str:
        seen.append(evidence)
        return "verdict"

    result, verdict = embed_and_judge(face_models, data, config, judge, keep=4)
    assert verdict == "verdict"
    assert seen == [result.evidence]
    assert [e.index for e in result.evidence] == [e.index for e in expected.evidence]
    assert [e.phash for e in result.evidence] == [e.phash for e in expected.evidence]
    assert result.frames == expected.frames
    assert result.used == expected.used == 4
    assert result.embedding is not None and expected.embedding is not None
    np.testing.assert_allclose(result.embedding, expected.embedding, atol=1e-6)

    def refuse(evidence: list[object]) -> str:
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        embed_and_judge(face_models, data, config, refuse, keep=4)


def test_prewhitening_separates_people_better_than_unit_scaled_bgr(
    face_models: FaceModels, dataset_faces: list[DatasetFace]
) -> None:
    """deepface feeds this model BGR scaled to [0, 1]; the model was trained prewhitened."""
    crops = np.stack([face.crop for face in dataset_faces])
    people = [face.photo.person for face in dataset_faces]
    same = np.equal.outer(people, people)
    upper = np.triu_indices(len(people), k=1)

    def eer(embeddings: np.ndarray) -> float:
        scores = (embeddings @ embeddings.T)[upper]
        return equal_error_rate(scores[same[upper]], scores[~same[upper]])[0]

    prewhitened = eer(embed_faces(face_models.embedder, crops))
    bgr_unit = l2_normalize(
        run_model(face_models.embedder, crops[..., ::-1].astype(np.float32) / 255.0)
    )
    deepface_default = eer(bgr_unit)
    assert prewhitened < 0.05
    assert prewhitened < deepface_default * 0.8


@pytest.mark.parametrize("side", [1, 12, 30])
def test_tiny_images_are_no_face_not_errors(face_models: FaceModels, side: int) -> None:
    tiny = encode(np.full((side, side + 3, 3), 128, dtype=np.uint8), "PNG")
    for config in (PipelineConfig(), DATASET_CONFIG):
        assert rejection(face_models, tiny, config) == ReasonCode.NO_FACE


def test_warm_up_frames_run_all_three_mtcnn_networks_and_find_no_face(
    face_models: FaceModels,
) -> None:
    batches: dict[str, list[int]] = defaultdict(list)

    def counted(name: str) -> Callable[[np.ndarray], list[np.ndarray]]:
        network = getattr(face_models.detector, name)

        def run(inputs: np.ndarray) -> list[np.ndarray]:
            batches[name].append(int(inputs.shape[0]))
            return network(inputs)

        return run

    detector = replace(
        face_models.detector, **{name: counted(name) for name in ("pnet", "rnet", "onet")}
    )
    found = detect_faces_batch(detector, warm_up_frames(), PipelineConfig())
    assert found == [[]] * len(found) == [[]] * 8
    assert min(batches["rnet"]) > 8 and min(batches["onet"]) > 0


def test_the_tensorflow_engine_says_what_to_install_where_tensorflow_is_missing(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image serves without TensorFlow; asking it for the reference engine (or a tool that
    converts) names requirements-ml.txt instead of failing on an import."""
    import importlib.util  # noqa: PLC0415

    found = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "tensorflow" else found(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ModelLoadError, match=r"requirements-ml\.txt"):
        load_models(models_dir, engine="tensorflow", warm_up=False)
