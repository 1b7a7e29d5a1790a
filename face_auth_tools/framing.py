"""Frames shaped like the page's webcam shots, from a photo or from video: a 4:3 window around
a face, the face about 42% of its height, scaled to 640x480."""

import cv2
import numpy as np

from face_auth.face_pipeline import PipelineConfig

FRAME_WIDTH, FRAME_HEIGHT = 640, 480
# Frames of one capture: as many as the page takes for a challenge (face_capture_frames).
CAPTURE_FRAMES = 12
FACE_SHARE_OF_HEIGHT = 0.42
# Web photos and video have small faces: found with relaxed detection before framing.
FIND_CONFIG = PipelineConfig(min_face_px=24, detector_min_face_px=20)


def webcam_window(rgb: np.ndarray, centre: tuple[float, float], face_height: float) -> np.ndarray:
    """The 640x480 view of a webcam whose window is centred on ``centre`` and sized for a face
    ``face_height`` pixels tall; beyond the picture's edges its border pixels are repeated."""
    window_h = face_height / FACE_SHARE_OF_HEIGHT
    window_w = window_h * FRAME_WIDTH / FRAME_HEIGHT
    padded = cv2.copyMakeBorder(
        rgb, *(int(window_h),) * 2, *(int(window_w),) * 2, cv2.BORDER_REPLICATE
    )
    left = round(centre[0] - window_w / 2 + int(window_w))
    top = round(centre[1] - window_h / 2 + int(window_h))
    crop = padded[top : top + round(window_h), left : left + round(window_w)]
    return cv2.resize(crop, (FRAME_WIDTH, FRAME_HEIGHT), interpolation=cv2.INTER_CUBIC)
