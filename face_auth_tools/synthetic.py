"""Synthetic camera sequences from one photo, for measuring liveness (and for the tests).

Bona fide stand-in: ``render_head_turn`` lifts the photo onto the face mesh's 3D landmarks,
rotates the mesh a few degrees per frame in a direction, and re-renders the photo with one
affine warp per mesh triangle (back to front), so near points (the nose) move more than far
ones (the cheeks): real parallax. A ring of fixed points around the face keeps the background
still. It stands in for live video of a turning head, which we do not have.

Attacks: ``replay_frames`` (one picture repeated, re-encoded), ``print_frames`` (a print
moved and tilted: random homographies, noise, blur), and ``screen_artefacts`` (a screen's
moire, gamma, glare and bezel) for a picture shown on a screen.
"""

import io
import math
from collections.abc import Iterator

import cv2
import numpy as np
from PIL import Image

from face_auth.face_pipeline.landmarks import FaceLandmarks
from face_auth.face_pipeline.liveness import Action

RING_POINTS = 24
RING_SCALE = 1.25


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _ring(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Fixed points on an ellipse around the face, plus the image corners and edge middles."""
    centre = points[:, :2].mean(axis=0)
    half = (points[:, :2].max(axis=0) - points[:, :2].min(axis=0)) / 2 * RING_SCALE
    angles = np.linspace(0, 2 * math.pi, RING_POINTS, endpoint=False)
    ring = centre + np.stack([np.cos(angles) * half[0], np.sin(angles) * half[1]], axis=1)
    height, width = shape[:2]
    frame = np.array(
        [[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1],
         [width / 2, 0], [width / 2, height - 1], [0, height / 2], [width - 1, height / 2]],
        dtype=np.float64,
    )  # fmt: skip
    return np.vstack([ring, frame])


def triangulate(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Delaunay triangles (index triples) over ``points`` (N, 2) inside the image."""
    height, width = shape[:2]
    subdiv = cv2.Subdiv2D((-1, -1, width + 2, height + 2))
    clipped = np.clip(points, [0, 0], [width - 1, height - 1]).astype(np.float32)
    lookup: dict[tuple[float, float], int] = {}
    for i, (x, y) in enumerate(clipped):
        key = (round(float(x), 2), round(float(y), 2))
        if key in lookup:
            continue
        lookup[key] = i
        subdiv.insert((float(x), float(y)))
    triangles = []
    for x1, y1, x2, y2, x3, y3 in subdiv.getTriangleList():
        keys = [(round(float(x), 2), round(float(y), 2)) for x, y in ((x1, y1), (x2, y2), (x3, y3))]
        if all(key in lookup for key in keys):
            triangles.append([lookup[key] for key in keys])
    return np.asarray(triangles, dtype=np.int64)


def rotation(action: Action, degrees: float) -> np.ndarray:
    """3x3 rotation of mesh points (x right, y down, z away from the camera) for ``action``.
    Turning left moves the nose (nearest, z < 0) to the image's right; looking up moves it up."""
    angle = math.radians(degrees)
    c, s = math.cos(angle), math.sin(angle)
    if action is Action.TURN_LEFT:
        return np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])
    if action is Action.TURN_RIGHT:
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    if action is Action.LOOK_UP:
        return np.array([[1, 0, 0], [0, c, s], [0, -s, c]])
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def warp_triangles(
    image: np.ndarray, source: np.ndarray, target: np.ndarray, triangles: np.ndarray,
    depth: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Re-render ``image`` with one affine warp per triangle, farthest triangles first."""
    height, width = image.shape[:2]
    out = image.copy()
    order = np.argsort(-depth[triangles].mean(axis=1))
    for triangle in triangles[order]:
        src = source[triangle].astype(np.float32)
        dst = target[triangle].astype(np.float32)
        x, y, w, h = cv2.boundingRect(dst)
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, width), min(y + h, height)
        if x1 <= x0 or y1 <= y0:
            continue
        (ax, ay), (bx, by) = dst[1] - dst[0], dst[2] - dst[0]
        if abs(ax * by - ay * bx) < 1e-3:  # noqa: PLR2004 - a degenerate triangle
            continue
        matrix = cv2.getAffineTransform(src, dst - np.float32([x0, y0]))
        patch = cv2.warpAffine(
            image, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )  # fmt: skip
        mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        cv2.fillConvexPoly(mask, np.round(dst - [x0, y0]).astype(np.int32), 1, cv2.LINE_8)
        region = out[y0:y1, x0:x1]
        region[mask > 0] = patch[mask > 0]
    return out


def render_head_turn(
    image: np.ndarray,
    landmarks: FaceLandmarks,
    action: Action,
    angles: list[float],
) -> Iterator[np.ndarray]:
    """One frame per angle (degrees): the face of ``image`` rotated about its own centre."""
    points = landmarks.points.astype(np.float64)
    centre = points.mean(axis=0)
    ring = _ring(points, image.shape)
    source = np.vstack([points[:, :2], ring])
    triangles = triangulate(source, image.shape)
    for degrees in angles:
        moved = (points - centre) @ rotation(action, degrees).T + centre
        target = np.vstack([moved[:, :2], ring])
        depth = np.concatenate([moved[:, 2], np.full(len(ring), points[:, 2].max() + 1e3)])
        yield warp_triangles(image, source, target, triangles, depth)


def turn_angles(count: int, peak: float, rng: np.random.Generator) -> list[float]:
    """A head turn as the page asks for it: still for the first frames, out to ``peak``
    degrees, and partly back, with a little jitter."""
    still = max(2, count // 4)
    out = count - still
    angles = [0.0] * still
    for i in range(out):
        phase = (i + 1) / out
        angles.append(peak * math.sin(phase * math.pi * 0.8))
    return [a + float(rng.normal(0, 0.6)) for a in angles]


def camera_noise(frame: np.ndarray, rng: np.random.Generator, sigma: float = 2.0) -> np.ndarray:
    """A webcam's sensor noise."""
    noisy = frame.astype(np.float32) + rng.normal(0, sigma, size=frame.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _homography(width: int, height: int, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A plausible move of a flat picture: tilt (perspective), rotation, scale and shift."""
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    jitter = rng.normal(0, strength * min(width, height), size=(4, 2)).astype(np.float32)
    tilt = float(rng.uniform(-1, 1)) * strength * width
    jitter[[1, 2], 1] += np.float32([-tilt, tilt])  # one side nearer: a turned print
    return cv2.getPerspectiveTransform(corners, corners + jitter)


def print_frames(
    image: np.ndarray, count: int, rng: np.random.Generator, strength: float = 0.06
) -> list[np.ndarray]:
    """A print held in front of the camera, moved and tilted: a homography per frame, with
    sensor noise and a little blur."""
    height, width = image.shape[:2]
    frames = []
    for i in range(count):
        amount = strength * (0.3 + 0.7 * i / max(count - 1, 1))
        matrix = _homography(width, height, rng, amount)
        warped = cv2.warpPerspective(
            image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE
        )
        blurred = cv2.GaussianBlur(warped, (0, 0), float(rng.uniform(0.4, 1.2)))
        noisy = blurred.astype(np.float32) + rng.normal(0, 3.0, size=blurred.shape)
        frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return frames


def screen_artefacts(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A phone or monitor filmed by a webcam: moire, a gamma shift, a glossy highlight, and
    the screen's dark border in the picture."""
    height, width = image.shape[:2]
    values = image.astype(np.float32) / 255.0
    values = values ** float(rng.uniform(0.7, 1.4))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = float(rng.uniform(0, math.pi))
    period = float(rng.uniform(3.0, 7.0))
    moire = 0.06 * np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period)
    values = values * (1.0 + moire[..., None])
    cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.1, 0.5) * height
    glare = np.exp(-(((xx - cx) / (0.25 * width)) ** 2 + ((yy - cy) / (0.15 * height)) ** 2))
    values = values + 0.35 * glare[..., None]
    border = int(rng.uniform(0.03, 0.08) * min(width, height))
    values[:border], values[-border:] = 0.05, 0.05
    values[:, :border], values[:, -border:] = 0.05, 0.05
    return np.clip(values * 255.0, 0, 255).astype(np.uint8)


def replay_frames(image: np.ndarray, count: int, rng: np.random.Generator) -> list[bytes]:
    """One picture sent ``count`` times, each re-encoded at a slightly different quality."""
    return [jpeg_bytes(image, int(rng.integers(85, 96))) for _ in range(count)]


def plane_turn(shape: tuple[int, ...], action: Action, degrees: float) -> np.ndarray:
    """The homography of a flat picture turned by ``degrees`` about its centre the way a head
    turns for ``action`` (a print or phone rotated to fake the asked movement), seen by a
    pinhole camera about as far away as the picture is wide."""
    height, width = shape[:2]
    focal = 1.2 * width
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    centre = np.array([width / 2, height / 2])
    flat = np.hstack([corners - centre, np.zeros((4, 1))])
    # The mesh's rotation turns the nose (z < 0) in the asked direction; a picture turned the
    # same way shows its near side (z < 0) where the nose would go.
    turned = flat @ rotation(action, degrees).T
    depth = focal + turned[:, 2]
    projected = turned[:, :2] * (focal / depth)[:, None] + centre
    return cv2.getPerspectiveTransform(corners.astype(np.float32), projected.astype(np.float32))


def turned_print_frames(
    image: np.ndarray,
    action: Action,
    count: int,
    rng: np.random.Generator,
    peak: float = 30.0,
    strength: float = 0.02,
) -> list[np.ndarray]:
    """A print (or the screen image given) turned in the asked direction as a head would turn,
    still first, out to ``peak`` degrees and partly back, with a small hand-held jitter,
    sensor noise and blur."""
    height, width = image.shape[:2]
    frames = []
    for degrees in turn_angles(count, peak, rng):
        turned = plane_turn(image.shape, action, degrees)
        matrix = _homography(width, height, rng, strength) @ turned
        warped = cv2.warpPerspective(
            image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE
        )
        blurred = cv2.GaussianBlur(warped, (0, 0), float(rng.uniform(0.4, 1.2)))
        noisy = blurred.astype(np.float32) + rng.normal(0, 3.0, size=blurred.shape)
        frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return frames
