"""Rotate the face so the eyes are level, crop it with a margin and resize it."""

import math

import cv2
import numpy as np

from face_auth.face_pipeline.config import FACE_SIZE
from face_auth.face_pipeline.results import FaceDetection

# Below this output/input scale the face region is first shrunk with area averaging.
MIN_WARP_SCALE = 0.5


def eye_angle(face: FaceDetection) -> float:
    """Angle of the line from the image-left eye to the image-right eye, in degrees.

    Positive when the right-hand eye is lower in the image (y grows downwards).
    """
    dx = face.right_eye[0] - face.left_eye[0]
    dy = face.right_eye[1] - face.left_eye[1]
    return math.degrees(math.atan2(dy, dx))


def alignment_matrix(face: FaceDetection, output_size: int, margin: float) -> np.ndarray:
    """2x3 affine map from image pixels to the aligned ``output_size`` square crop.

    The crop is centred on the face box, ``max(w, h) * (1 + 2 * margin)`` pixels wide, and
    rotated about its centre by ``eye_angle`` so that the eyes end up on one row.
    """
    x, y, width, height = face.box
    center = (x + width / 2.0, y + height / 2.0)
    side = max(width, height) * (1.0 + 2.0 * margin)
    matrix = cv2.getRotationMatrix2D(center, eye_angle(face), output_size / side)
    matrix[0, 2] += output_size / 2.0 - center[0]
    matrix[1, 2] += output_size / 2.0 - center[1]
    return matrix


def align_face(
    rgb: np.ndarray, face: FaceDetection, output_size: int = FACE_SIZE, margin: float = 0.1
) -> np.ndarray:
    """Aligned (output_size, output_size, 3) uint8 RGB crop of ``face`` from ``rgb``.

    For large faces the region around the face is first shrunk with area averaging, so the
    affine warp itself never downsamples by more than 2x (which would alias).
    """
    matrix = alignment_matrix(face, output_size, margin)
    x, y, width, height = face.box
    side = max(width, height) * (1.0 + 2.0 * margin)
    source = rgb
    if output_size / side < MIN_WARP_SCALE:
        reach = side * 0.75  # the rotated crop fits in a square of side * sqrt(2)
        center_x, center_y = x + width / 2.0, y + height / 2.0
        left = max(0, math.floor(center_x - reach))
        top = max(0, math.floor(center_y - reach))
        right = min(rgb.shape[1], math.ceil(center_x + reach))
        bottom = min(rgb.shape[0], math.ceil(center_y + reach))
        region = rgb[top:bottom, left:right]
        factor = output_size / side / MIN_WARP_SCALE
        new_width = max(1, round(region.shape[1] * factor))
        new_height = max(1, round(region.shape[0] * factor))
        source = cv2.resize(region, (new_width, new_height), interpolation=cv2.INTER_AREA)
        # Map shrunk-region pixels back to image pixels, then apply the alignment.
        to_image = np.array(
            [
                [region.shape[1] / new_width, 0.0, float(left)],
                [0.0, region.shape[0] / new_height, float(top)],
                [0.0, 0.0, 1.0],
            ]
        )
        matrix = matrix @ to_image
    return cv2.warpAffine(
        np.ascontiguousarray(source),
        matrix,
        (output_size, output_size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
