"""Tunable parameters of the face pipeline; the app maps its settings onto PipelineConfig."""

from dataclasses import dataclass

# FaceNet input: aligned faces are resized to FACE_SIZE x FACE_SIZE RGB.
FACE_SIZE = 160


@dataclass(frozen=True)
class PipelineConfig:
    """Limits and quality gates applied to every frame.

    Defaults suit a webcam frame (640x480 to 1280x720) with the face filling a good part of
    it. Sizes are in pixels of the decoded, EXIF-rotated image.
    """

    max_bytes: int = 5 * 1024 * 1024
    max_pixels: int = 2048 * 2048
    # A detection counts as a face only at or above both of these; smaller or less confident
    # ones (people in the background, false positives) are ignored.
    min_confidence: float = 0.9
    min_face_px: int = 80
    # Smallest face MTCNN searches for: the frame is shrunk by 20 / this before detection
    # (values under 20 act as 20); larger values make detection faster.
    detector_min_face_px: int = 40
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
