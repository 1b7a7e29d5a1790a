"""Is a frame only a 2D deformation of another? Pure functions over small face patches.

A warp of one photo (a mesh renderer, a dense warp about a pivot, a morph) only moves pixels:
warp the reference frame's face onto another frame's landmarks, piece by piece over the
landmark mesh, and what is left is sensor noise and JPEG. A real head turning in front of a
camera also hides and reveals surface (the nose's sides, the far cheek) and turns its surface
against the light, so its shading changes; the piecewise-affine warp cannot produce either.
``texture_change`` measures what is left after that warp, at low spatial frequency (noise
averages out; shading and revealed surface do not), in units of the face's own contrast.

The same measure between consecutive frames says whether the capture is continuous: 250 ms
apart a real face changes little beyond what the warp explains, while a sequence of different
photos of one person, ordered by head pose, jumps in light, colour and detail at every change
of photo.
"""

import math
from dataclasses import dataclass

import cv2
import numpy as np

from face_auth.face_pipeline.landmarks import FaceLandmarks

# The patch's landmark box is scaled to this width (pixels): shading and revealed surface are
# coarse, and a small patch keeps the warp cheap (~2 ms a pair).
PATCH_WIDTH = 96
PATCH_MARGIN = 0.08
# Low-pass before comparing (pixels of the patch): sensor noise and landmark jitter at edges
# average out, shading does not.
BLUR_SIGMA = 2.0
# Pixels at the mesh's border are dropped (background and hair move against the face).
ERODE_PIXELS = 3
_ERODE_KERNEL = np.ones((2 * ERODE_PIXELS + 1, 2 * ERODE_PIXELS + 1), np.uint8)
_MIN_PIXELS = 200
_MIN_AREA = 1e-3


@dataclass(frozen=True)
class FacePatch:
    """A frame's face, scaled so its landmark box is PATCH_WIDTH wide, with the landmarks in
    patch pixels (x, y) and their depth (z, smaller is nearer). Held in memory for one
    request only: never stored."""

    pixels: np.ndarray  # (H, W, 3) float32
    points: np.ndarray  # (468, 2) float64
    depth: np.ndarray  # (468,) float64


def face_patch(rgb: np.ndarray, landmarks: FaceLandmarks) -> FacePatch:
    xy = landmarks.xy
    low, high = xy.min(axis=0), xy.max(axis=0)
    pad = (high - low) * PATCH_MARGIN
    x0, y0 = np.floor(np.maximum(low - pad, 0)).astype(int)
    x1, y1 = np.ceil(np.minimum(high + pad, [rgb.shape[1], rgb.shape[0]])).astype(int)
    crop = rgb[y0 : max(y1, y0 + 2), x0 : max(x1, x0 + 2)]
    scale = PATCH_WIDTH / max(float(high[0] - low[0]), 1.0)
    size = (max(round(crop.shape[1] * scale), 2), max(round(crop.shape[0] * scale), 2))
    pixels = cv2.resize(crop, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    points = (xy - [x0, y0]) * scale
    depth = landmarks.points[:, 2].astype(np.float64) * scale
    return FacePatch(pixels, points, depth)


def colour_change(first: FacePatch, second: FacePatch) -> tuple[float, float]:
    """How much the face's colour changed: the chromaticity of the middle of the patch (L1,
    in percent) and its brightness (absolute log ratio)."""
    means = []
    for patch in (first, second):
        height, width = patch.pixels.shape[:2]
        middle = patch.pixels[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4]
        means.append(np.maximum(middle.reshape(-1, 3).mean(axis=0), 1.0))
    chroma = [mean / mean.sum() for mean in means]
    colour = 100.0 * float(np.abs(chroma[0] - chroma[1]).sum())
    brightness = abs(math.log(float(means[1].sum()) / float(means[0].sum())))
    return colour, brightness


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles (index triples) over ``points`` (N, 2); of points that round to the
    same (x, y) at 3 decimals, only the first is a vertex."""
    low = points.min(axis=0) - 1
    high = points.max(axis=0) + 1
    subdiv = cv2.Subdiv2D((int(low[0]), int(low[1]), int(high[0] - low[0]) + 2,
                           int(high[1] - low[1]) + 2))  # fmt: skip
    corners = np.ascontiguousarray(points, dtype=np.float32)
    _, first = np.unique(np.round(corners.astype(np.float64), 3), axis=0, return_index=True)
    vertices = np.sort(first)
    subdiv.insert(corners[vertices])  # one by one, in this order (as OpenCV does)
    # Subdiv2D keeps the float32 coordinates it was given, so each corner of a triangle is a
    # vertex bit for bit, or one of its virtual outer vertices (which match none: dropped).
    keys = corners[vertices].view(np.uint64).ravel()
    by_key = np.argsort(keys)
    sorted_keys = keys[by_key]
    found = np.ascontiguousarray(subdiv.getTriangleList(), dtype=np.float32)
    found_keys = found.reshape(-1, 3, 2).view(np.uint64).reshape(-1, 3)
    slots = np.minimum(np.searchsorted(sorted_keys, found_keys), len(sorted_keys) - 1)
    inside = (sorted_keys[slots] == found_keys).all(axis=1)
    return vertices[by_key[slots[inside]]].astype(np.int64).reshape(-1, 3)


def affine_maps(dst: np.ndarray, src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per triangle, the (3, 2) affine map taking ``dst``'s corners to ``src``'s
    (``[x, y, 1] @ map``), in closed form, and which triangles are not degenerate."""
    edges = dst[:, 1:] - dst[:, :1]  # (T, 2, 2): the corners relative to the first one
    moved = src[:, 1:] - src[:, :1]
    det = edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0]
    usable = np.abs(det) > _MIN_AREA
    safe_det = np.where(usable, det, 1.0)
    inverse = np.empty_like(edges)  # of each triangle's 2 x 2 edge matrix
    inverse[:, 0, 0], inverse[:, 0, 1] = edges[:, 1, 1], -edges[:, 0, 1]
    inverse[:, 1, 0], inverse[:, 1, 1] = -edges[:, 1, 0], edges[:, 0, 0]
    inverse /= safe_det[:, None, None]
    linear = inverse @ moved  # (T, 2, 2)
    offset = src[:, 0] - np.einsum("ti,tij->tj", dst[:, 0], linear)
    maps = np.concatenate([linear, offset[:, None, :]], axis=1)
    maps[~usable] = 0.0
    return maps, usable


def warp_onto(
    source: FacePatch, target: FacePatch, triangles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``source``'s pixels moved onto ``target``'s landmarks, one affine map per mesh triangle
    (nearest triangle on top where the mesh folds), and the mask of the pixels it covers."""
    height, width = target.pixels.shape[:2]
    dst = target.points[triangles]  # (T, 3, 2)
    maps, usable = affine_maps(dst, source.points[triangles])
    owner = np.full((height, width), -1, dtype=np.int32)
    order = np.argsort(-target.depth[triangles].mean(axis=1))
    drawn = order[usable[order]]
    corners = np.round(dst).astype(np.int32)[drawn]
    for polygon, index in zip(corners, drawn.tolist(), strict=True):
        cv2.fillConvexPoly(owner, polygon, index)
    covered = owner >= 0
    coefficients = maps.reshape(-1, 6)[np.where(covered, owner, 0)]  # (H, W, 6)
    xs = np.arange(width, dtype=np.float64)[None, :]
    ys = np.arange(height, dtype=np.float64)[:, None]
    map_x = xs * coefficients[..., 0] + ys * coefficients[..., 2] + coefficients[..., 4]
    map_y = xs * coefficients[..., 1] + ys * coefficients[..., 3] + coefficients[..., 5]
    warped = cv2.remap(source.pixels, map_x.astype(np.float32), map_y.astype(np.float32),
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return warped, cv2.erode(covered.astype(np.uint8), _ERODE_KERNEL) > 0


def texture_change(source: FacePatch, target: FacePatch, triangles: np.ndarray) -> float:
    """What is left of ``target`` after warping ``source`` onto it: the mean absolute
    low-pass difference over the face, after the best gain and offset per colour channel (a
    camera's exposure and white balance), divided by the face's contrast (the mean standard
    deviation of its channels). 0 for a pure warp of a noiseless picture."""
    warped, mask = warp_onto(source, target, triangles)
    if int(mask.sum()) < _MIN_PIXELS:
        return 0.0
    moved = _channel_rows(cv2.GaussianBlur(warped, (0, 0), BLUR_SIGMA), mask)
    seen = _channel_rows(cv2.GaussianBlur(target.pixels, (0, 0), BLUR_SIGMA), mask)
    contrast = float(np.mean(seen.std(axis=1)))
    if contrast < 1.0:
        return 0.0
    return float(np.mean(np.abs(gain_offset_residual(moved, seen)))) / contrast


def _channel_rows(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The masked pixels as one float64 row per channel, (C, N): reductions along a row are
    many times faster than along the columns of (N, C)."""
    return np.ascontiguousarray(pixels[mask].T, dtype=np.float64)


def gain_offset_residual(moved: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """``seen`` less its least-squares fit ``gain * moved + offset``, along the last axis (per
    row of (C, N), or over (N,)), in float64: the closed form of a line fit (a row of
    ``moved`` that does not vary is fitted by its mean alone, as a least-squares solver
    does)."""
    moved_centred = _centred(moved)
    seen_centred = _centred(seen)
    spread = np.einsum("...i,...i->...", moved_centred, moved_centred)
    covariance = np.einsum("...i,...i->...", moved_centred, seen_centred)
    gain = np.divide(covariance, spread, out=np.zeros_like(spread), where=spread > 0)
    return seen_centred - gain[..., None] * moved_centred


def _centred(values: np.ndarray) -> np.ndarray:
    as_float64 = np.asarray(values, dtype=np.float64)
    return as_float64 - as_float64.mean(axis=-1, keepdims=True)


# The background: a small grey thumbnail of the whole frame, compared outside the head.
THUMB_WIDTH, THUMB_HEIGHT = 80, 60
# Around the face's landmark box, this much (in face widths) on each side, and everything
# below the face (the neck and shoulders move with the head) belongs to the person.
HEAD_MARGIN = 0.6
_MIN_BACKGROUND = 150


@dataclass(frozen=True)
class Backdrop:
    """A frame's grey thumbnail and the mask of its pixels away from the head and body."""

    pixels: np.ndarray  # (THUMB_HEIGHT, THUMB_WIDTH) float32
    mask: np.ndarray  # bool, same shape


def backdrop(rgb: np.ndarray, landmarks: FaceLandmarks) -> Backdrop:
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    pixels = cv2.resize(grey, (THUMB_WIDTH, THUMB_HEIGHT), interpolation=cv2.INTER_AREA)
    sx, sy = THUMB_WIDTH / rgb.shape[1], THUMB_HEIGHT / rgb.shape[0]
    low, high = landmarks.xy.min(axis=0), landmarks.xy.max(axis=0)
    margin = (high[0] - low[0]) * HEAD_MARGIN
    mask = np.ones((THUMB_HEIGHT, THUMB_WIDTH), dtype=bool)
    x0, x1 = int((low[0] - margin) * sx), int(np.ceil((high[0] + margin) * sx))
    y0 = int((low[1] - margin) * sy)
    mask[max(y0, 0) :, max(x0, 0) : max(x1, 0)] = False
    return Backdrop(pixels.astype(np.float32), mask)


def _aligned(first: Backdrop, second: Backdrop) -> np.ndarray:
    """``first``'s thumbnail moved onto ``second``'s by the affine map that best aligns their
    backgrounds (a hand-held or panning camera moves the whole scene)."""
    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4)
    mask = (first.mask & second.mask).astype(np.uint8)
    try:
        target = cv2.GaussianBlur(second.pixels, (0, 0), 1.0)
        moving = cv2.GaussianBlur(first.pixels, (0, 0), 1.0)
        _, warp = cv2.findTransformECC(target, moving, warp, cv2.MOTION_AFFINE, criteria, mask, 1)
    except cv2.error:
        return first.pixels
    return cv2.warpAffine(first.pixels, warp, (THUMB_WIDTH, THUMB_HEIGHT),
                          flags=cv2.INTER_LINEAR + cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip


def background_change(first: Backdrop, second: Backdrop) -> float:
    """Median absolute grey-level change of the background shared by two frames, after
    aligning them (camera motion) and the best gain and offset (exposure); 0 when too little
    background is seen."""
    shared = first.mask & second.mask
    if int(shared.sum()) < _MIN_BACKGROUND:
        return 0.0
    moved, seen = _aligned(first, second)[shared], second.pixels[shared]
    return float(np.median(np.abs(gain_offset_residual(moved, seen))))
