"""The texture checks on real frames: a real head (the real clip) changes beyond a 2D warp of
one picture and does not jump; a photo animated by either method is only a warp; a sequence of
photos jumps. Pure pipeline functions, no HTTP, no database."""

import cv2
import numpy as np
import pytest

from app import pipeline_config
from face_auth.config import Settings
from face_auth.face_pipeline import FaceModels, embed_frames
from face_auth.face_pipeline.liveness import (
    ACTIONS,
    Action,
    FrameEvidence,
    LivenessConfig,
    capture_jumps,
    check_continuity,
    check_single_picture,
    evaluate_liveness,
    tracked,
)
from face_auth.face_pipeline.texture import (
    affine_maps,
    gain_offset_residual,
    texture_change,
    triangulate,
)
from face_auth_tools.liveness_evaluation import pose_value
from tests.conftest import MODELS_DIR
from tests.liveness_data import LiveSubject, RealRun, live_subjects, real_runs

pytestmark = pytest.mark.models

CONFIG = LivenessConfig.from_settings(Settings())


@pytest.fixture(scope="module")
def pipeline() -> object:
    return pipeline_config(Settings(models_dir=MODELS_DIR))


@pytest.fixture(scope="module")
def real(face_models: FaceModels, pipeline: object) -> list[RealRun]:
    return real_runs(face_models, pipeline, stride_ms=250)


@pytest.fixture(scope="module")
def photos(face_models: FaceModels, dataset_dir, pipeline: object) -> list[LiveSubject]:
    return live_subjects(face_models, dataset_dir, "mindy_kaling", 8, pipeline)


def evidence(models: FaceModels, frames: list[bytes], pipeline: object) -> list[FrameEvidence]:
    return tracked(embed_frames(models, frames, pipeline, evidence=True).evidence)


def test_a_frame_is_a_perfect_warp_of_itself(
    face_models: FaceModels, real: list[RealRun], pipeline: object
) -> None:
    frame = evidence(face_models, real[0].frames[:4], pipeline)[0]
    assert frame.patch is not None
    assert texture_change(frame.patch, frame.patch, triangulate(frame.patch.points)) < 0.02


def test_every_run_of_the_real_clip_passes_every_check(
    face_models: FaceModels, real: list[RealRun], pipeline: object
) -> None:
    assert len(real) >= 5
    for run in real:
        frames = evidence(face_models, run.frames, pipeline)
        result = evaluate_liveness(frames, run.action, [], CONFIG)
        assert result.passed, (run.run.name, [c.as_dict() for c in result.checks])


@pytest.mark.parametrize("method", ["mesh_render", "pivot_warp"])
def test_one_photo_animated_is_only_a_warp(
    face_models: FaceModels, photos: list[LiveSubject], pipeline: object, method: str
) -> None:
    for number, photo in enumerate(photos[:4]):
        action = ACTIONS[number % len(ACTIONS)]
        frames = (photo.head_turn(action, number) if method == "mesh_render"
                  else photo.pivot_turn(action, number))  # fmt: skip
        checked = check_single_picture(evidence(face_models, frames, pipeline), action, CONFIG)
        assert not checked.passed, (photo.photo, action, checked.score)


def test_photos_ordered_by_pose_jump_between_frames(
    face_models: FaceModels, photos: list[LiveSubject], pipeline: object
) -> None:
    for action in (Action.TURN_LEFT, Action.TURN_RIGHT, Action.LOOK_UP):
        start = min(photos, key=lambda photo: pose_value(photo.subject, action))
        others = [photo for photo in photos if photo is not start]
        frames = start.sequence_with(others, action, seed=5)
        seen = evidence(face_models, frames, pipeline)
        checked = check_continuity(seen, CONFIG)
        assert not checked.passed, (action, capture_jumps(seen))


def test_real_runs_change_smoothly(
    face_models: FaceModels, real: list[RealRun], pipeline: object
) -> None:
    for run in real:
        jumps = capture_jumps(evidence(face_models, run.frames, pipeline))
        assert jumps["colour"] <= CONFIG.max_colour_jump, (run.run.name, jumps)
        assert jumps["brightness"] <= CONFIG.max_brightness_jump, (run.run.name, jumps)
        assert np.isfinite(list(jumps.values())).all()


def _circumcircle_holds_no_point(points: np.ndarray, triangle: np.ndarray) -> bool:
    (ax, ay), (bx, by), (cx, cy) = points[triangle]
    d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    if abs(d) < 1e-9:
        return True
    a2, b2, c2 = ax**2 + ay**2, bx**2 + by**2, cx**2 + cy**2
    ux = (a2 * (by - cy) + b2 * (cy - ay) + c2 * (ay - by)) / d
    uy = (a2 * (cx - bx) + b2 * (ax - cx) + c2 * (bx - ax)) / d
    radius = np.hypot(ax - ux, ay - uy)
    others = np.delete(points, triangle, axis=0)
    return bool((np.hypot(others[:, 0] - ux, others[:, 1] - uy) >= radius - 1e-6 * radius).all())


def test_triangulate_is_delaunay_over_every_distinct_point() -> None:
    rng = np.random.default_rng(3)
    points = rng.uniform(0, 100, (60, 2))
    points = np.concatenate([points, points[:5] + 1e-5])  # near-duplicates: first one only
    triangles = triangulate(points)
    assert set(np.unique(triangles)) == set(range(60))
    # Euler: a triangulation of n points with h on the hull has 2n - 2 - h triangles.
    hull = len(cv2.convexHull(points[:60].astype(np.float32)))
    assert len(triangles) == 2 * 60 - 2 - hull
    assert all(_circumcircle_holds_no_point(points[:60], triangle) for triangle in triangles)


def test_affine_maps_take_each_triangle_onto_its_source_and_flag_degenerate_ones() -> None:
    rng = np.random.default_rng(5)
    dst = rng.uniform(0, 100, (200, 3, 2))
    dst[7] = [[1, 1], [2, 2], [3, 3]]  # collinear: no map
    src = dst @ rng.uniform(0.5, 1.5, (2, 2)) + rng.uniform(-5, 5, 2) + rng.normal(0, 2, dst.shape)
    maps, usable = affine_maps(dst, src)
    assert not usable[7] and usable.sum() == 199
    assert not maps[7].any()
    corners = np.concatenate([dst, np.ones((200, 3, 1))], axis=2)
    assert np.allclose((corners @ maps)[usable], src[usable], atol=1e-9)
    assert np.allclose(maps[usable], np.linalg.solve(corners[usable], src[usable]), atol=1e-9)


def test_gain_offset_residual_is_the_least_squares_residual_per_row() -> None:
    rng = np.random.default_rng(6)
    moved = rng.uniform(0, 255, (3, 500)).astype(np.float32)
    seen = (1.3 * moved + 12 + rng.normal(0, 4, moved.shape)).astype(np.float32)
    seen[1] = 2.0 * moved[1] - 7  # an exact gain and offset leaves (nearly) nothing
    moved[2] = 40.0  # a flat row: fitted by the mean of seen alone
    residual = gain_offset_residual(moved, seen)
    for row in range(3):
        design = np.stack([moved[row], np.ones(500)], axis=1).astype(np.float64)
        fit, *_ = np.linalg.lstsq(design, seen[row].astype(np.float64), rcond=None)
        assert np.allclose(residual[row], seen[row] - design @ fit, atol=1e-6)
    assert np.abs(residual[1]).max() < 1e-4  # float32 rounding of seen
    flat = gain_offset_residual(moved[0], seen[0])  # one channel: (N,)
    assert flat.shape == (500,) and np.allclose(flat, residual[0])
