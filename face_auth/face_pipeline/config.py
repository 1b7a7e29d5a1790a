"""Tunable parameters of the face pipeline; the app maps its settings onto PipelineConfig."""

from dataclasses import dataclass
from typing import Any

from face_auth.config import Settings

# FaceNet input: aligned faces are resized to FACE_SIZE x FACE_SIZE RGB.
FACE_SIZE = 160


def _setting_default(name: str) -> Any:
    """The default of a Settings field: Settings is the one place that defines the limits."""
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class PipelineConfig:
    """Limits and quality gates applied to every frame.

    The gate defaults suit a webcam frame (640x480 to 1280x720) with the face filling a good
    part of it. Sizes are in pixels of the working copy: the decoded, EXIF-rotated image,
    shrunk so that its longest side is at most ``working_max_side``.
    """

    # Decoding limits (see decode.py); their defaults are the Settings defaults.
    max_bytes: int = _setting_default("face_max_frame_bytes")
    max_pixels: int = _setting_default("face_max_frame_pixels")
    max_full_decode_pixels: int = _setting_default("face_max_full_decode_pixels")
    working_max_side: int = _setting_default("face_working_max_side")
    # A detection counts as a face only at or above both of these; smaller or less confident
    # ones (people in the background, false positives) are ignored.
    min_confidence: float = 0.9
    min_face_px: int = 80
    # Another confident face blocks the frame only when it competes with the main (largest)
    # face: at least this confident and at least this share of the main face's box area.
    competitor_min_confidence: float = 0.95
    competitor_min_area_ratio: float = 0.25
    # Smallest face MTCNN searches for: the frame is shrunk by 20 / this before detection
    # (values under 20 act as 20); larger values make detection faster.
    detector_min_face_px: int = 40
    # The first search skips the pyramid levels for faces under this (56: the largest
    # level, about half of PNet's pixels); only frames whose main face is too small for it
    # to rule out a competing face (detect.settled_by) are searched in full. At or below
    # detector_min_face_px: one search.
    detector_coarse_min_face_px: int = 56
    # Variance of the Laplacian of the aligned 160x160 grey face, and its mean grey level.
    min_sharpness: float = 30.0
    min_brightness: float = 40.0
    max_brightness: float = 220.0
    # Nose offset along the eye line, in eye distances (0 = frontal, ~0.5 = half profile).
    max_yaw_ratio: float = 0.3
    # Nose drop below the eye line, in eye distances (~0.6 when looking straight ahead).
    min_pitch_ratio: float = 0.25
    max_pitch_ratio: float = 1.1
    # Crop margin added on each side of the face box, as a fraction of its longer side.
    crop_margin: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "PipelineConfig":
        """The app's and the CLI's configuration: the decoding limits from ``settings``."""
        return cls(
            max_bytes=settings.face_max_frame_bytes,
            max_pixels=settings.face_max_frame_pixels,
            max_full_decode_pixels=settings.face_max_full_decode_pixels,
            working_max_side=settings.face_working_max_side,
        )
