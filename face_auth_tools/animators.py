"""Attacks that animate photos into the asked head movement, built differently from the mesh
renderer (synthetic.render_head_turn) so that a check cannot pass by knowing one renderer.

- ``pivot_turn``: a dense warp of one photo. The face is an ellipsoid (from the detector's box,
  no landmarks) turned about a pivot behind the head; every pixel is moved by inverting the
  forward map numerically, blended smoothly into the still background, with a hand-held drift
  and scale of the whole frame.
- ``pose_sequence``: several photos of one person, ordered by head pose in the asked
  direction and shown one after another (each held for a few frames), framed alike.
"""

import math
from collections.abc import Sequence

import cv2
import numpy as np

from face_auth.face_pipeline.liveness import Action

# The ellipsoid: half the box's width and height, a little larger (hair and jaw), as deep as
# it is wide; the pivot (the neck's axis) this share of the depth behind the face's centre.
ELLIPSE_GROWTH = (1.1, 1.25)
DEPTH_SHARE = 1.0
PIVOT_BEHIND = 0.7
# The displacement fades to nothing between these elliptical radii.
FADE = (1.0, 1.5)
INVERSION_STEPS = 6


def _rotate(action: Action, degrees: float, x: np.ndarray, y: np.ndarray, z: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Points (x right, y down, z away from the camera) turned the way ``action`` asks: turning
    left moves the nose (z < 0) to the image's right, looking up moves it up."""
    angle = math.radians(degrees)
    c, s = math.cos(angle), math.sin(angle)
    if action in (Action.TURN_LEFT, Action.TURN_RIGHT):
        s = -s if action is Action.TURN_LEFT else s
        return c * x + s * z, y, -s * x + c * z
    s = s if action is Action.LOOK_UP else -s
    return x, c * y + s * z, -s * y + c * z


def _displacement(
    xs: np.ndarray, ys: np.ndarray, box: tuple[float, float, float, float], action: Action,
    degrees: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Forward displacement of each pixel (where its surface point lands after the turn)."""
    x0, y0, width, height = box
    cx, cy = x0 + width / 2, y0 + height / 2
    a, b = width / 2 * ELLIPSE_GROWTH[0], height / 2 * ELLIPSE_GROWTH[1]
    c = a * DEPTH_SHARE
    u, v = (xs - cx) / a, (ys - cy) / b
    radius = np.sqrt(u * u + v * v)
    inside = np.clip(1.0 - u * u - v * v, 0.0, 1.0)
    z = -c * np.sqrt(inside)
    pivot = c * PIVOT_BEHIND
    px, py, pz = _rotate(action, degrees, xs - cx, ys - cy, z - pivot)
    dx, dy = px - (xs - cx), py - (ys - cy)
    fade = np.clip((FADE[1] - radius) / (FADE[1] - FADE[0]), 0.0, 1.0)
    fade = fade * fade * (3 - 2 * fade)
    del pz
    return dx * fade, dy * fade


def pivot_turn_frame(
    image: np.ndarray, box: tuple[float, float, float, float], action: Action, degrees: float
) -> np.ndarray:
    """One frame of the photo's face turned by ``degrees``."""
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    source_x, source_y = xs.copy(), ys.copy()
    for _ in range(INVERSION_STEPS):  # source = output - displacement(source)
        dx, dy = _displacement(source_x, source_y, box, action, degrees)
        source_x, source_y = xs - dx, ys - dy
    return cv2.remap(image, source_x.astype(np.float32), source_y.astype(np.float32),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)  # fmt: skip


def hand_drift(frame: np.ndarray, step: int, rng: np.random.Generator) -> np.ndarray:
    """The whole frame moved a little, as a phone or print held in a hand drifts and nears."""
    height, width = frame.shape[:2]
    scale = 1.0 + 0.004 * step + float(rng.normal(0, 0.004))
    shift = rng.normal(0, 1.5, size=2) + np.array([0.6, 0.3]) * step
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), float(rng.normal(0, 0.4)), scale)
    matrix[:, 2] += shift
    return cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)


def pivot_turn(
    image: np.ndarray,
    box: tuple[float, float, float, float],
    action: Action,
    angles: Sequence[float],
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """The photo animated through ``angles`` (degrees), with drift and scale."""
    return [
        hand_drift(pivot_turn_frame(image, box, action, degrees), step, rng)
        for step, degrees in enumerate(angles)
    ]


def pose_sequence(stills: Sequence[np.ndarray], count: int) -> list[np.ndarray]:
    """``count`` frames showing ``stills`` in order, each for about the same number of frames,
    the first one a little longer (the page's first frames are the reference)."""
    frames: list[np.ndarray] = []
    shares = np.linspace(0, count, len(stills) + 1)
    shares[1:-1] += 0.5
    for index, still in enumerate(stills):
        frames += [still] * (round(shares[index + 1]) - round(shares[index]))
    return frames[:count]
