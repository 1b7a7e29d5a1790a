"""Quality gates: exposure and sharpness of the aligned crop, rough frontal pose."""

import math

import cv2
import numpy as np

from face_auth.face_pipeline.config import PipelineConfig
from face_auth.face_pipeline.results import FaceDetection, FrameRejected, ReasonCode


def to_grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def sharpness(grey: np.ndarray) -> float:
    """Variance of the Laplacian: low for blurred or featureless images."""
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def brightness(grey: np.ndarray) -> float:
    return float(grey.mean())


def pose_ratios(face: FaceDetection) -> tuple[float, float]:
    """(yaw, pitch) proxies from the landmarks, in units of the eye distance.

    yaw is the nose offset from the eye midpoint along the eye line (0 when frontal), pitch
    the nose drop below the eye line. Both are invariant to in-plane rotation and scale.
    """
    ex = face.right_eye[0] - face.left_eye[0]
    ey = face.right_eye[1] - face.left_eye[1]
    eye_distance = math.hypot(ex, ey)
    if eye_distance < 1.0:
        return math.inf, 0.0
    ux, uy = ex / eye_distance, ey / eye_distance
    mx = (face.left_eye[0] + face.right_eye[0]) / 2.0
    my = (face.left_eye[1] + face.right_eye[1]) / 2.0
    nx, ny = face.nose[0] - mx, face.nose[1] - my
    yaw = (nx * ux + ny * uy) / eye_distance
    pitch = (ny * ux - nx * uy) / eye_distance
    return yaw, pitch


def check_exposure(aligned_rgb: np.ndarray, config: PipelineConfig) -> None:
    """Reject a face crop that is too dark, washed out or blurred."""
    grey = to_grey(aligned_rgb)
    level = brightness(grey)
    if not config.min_brightness <= level <= config.max_brightness:
        raise FrameRejected(ReasonCode.TOO_DARK_OR_BLURRY, f"brightness {level:.0f}")
    score = sharpness(grey)
    if score < config.min_sharpness:
        raise FrameRejected(ReasonCode.TOO_DARK_OR_BLURRY, f"sharpness {score:.1f}")


def check_pose(face: FaceDetection, config: PipelineConfig) -> None:
    """Reject a face turned sideways or tilted far up or down."""
    yaw, pitch = pose_ratios(face)
    if abs(yaw) > config.max_yaw_ratio:
        raise FrameRejected(ReasonCode.NOT_FRONTAL, f"yaw ratio {yaw:.2f}")
    if not config.min_pitch_ratio <= pitch <= config.max_pitch_ratio:
        raise FrameRejected(ReasonCode.NOT_FRONTAL, f"pitch ratio {pitch:.2f}")
