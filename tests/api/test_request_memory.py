"""The largest face upload a client may send stays within the memory the deploy guide gives a
replica (1 GiB): a challenge's 12 frames (the default mode's most) of 1600 x 1200 smooth
noise (the working size's limit, and the worst case for MTCNN: thousands of candidate boxes
in every frame). Run in a fresh interpreter, so that its peak RSS is the app's own."""

from pathlib import Path

import cv2
import numpy as np

from face_auth.config import Settings
from tests.support import run_app_script

REPLICA_MEMORY_MB = 1024
FRAMES = 12

UPLOAD_NOISE = """
import json, sys
from pathlib import Path
from fastapi.testclient import TestClient
from app import create_app
from face_auth.config import Settings
from tests.support import PASSWORD, csrf_headers, registration

settings = Settings(**json.loads(sys.argv[1]))
frames = [Path(path).read_bytes() for path in json.loads(sys.argv[2])]
with TestClient(create_app(settings), follow_redirects=False) as client:
    post = lambda path, **kwargs: client.post(path, headers=csrf_headers(client), **kwargs)
    body = registration("noise")
    assert post("/api/v1/users", json=body).status_code == 201
    login = {"email": body["email"], "password": PASSWORD}
    assert post("/api/v1/sessions", json=login).status_code == 200
    nonce = post("/api/v1/face/challenge").json()["nonce"]
    files = [("frames", (f"f{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    response = post("/api/v1/face/enroll", files=files, data={"nonce": nonce})
# VmHWM: this process image's peak (ru_maxrss would count the parent's, from before exec).
status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
peak_mb = int(status["VmHWM"].split()[0]) / 1024
print(json.dumps({"status": response.status_code, "body": response.json(), "peak_mb": peak_mb}))
"""


def noise_frames(folder: Path) -> list[str]:
    """Smooth noise (as the warm-up's, larger): no face, but PNet proposes boxes everywhere."""
    rng = np.random.default_rng(7)
    paths = []
    for index in range(FRAMES):
        coarse = rng.integers(0, 256, (150, 200, 3), np.uint8)
        frame = cv2.resize(coarse, (1600, 1200), interpolation=cv2.INTER_CUBIC)
        path = folder / f"noise-{index}.jpg"
        path.write_bytes(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
        paths.append(str(path))
    return paths


def test_the_largest_upload_stays_within_a_replicas_memory(
    settings: Settings, tmp_path: Path
) -> None:
    frames = noise_frames(tmp_path)
    report = run_app_script(UPLOAD_NOISE, settings, frames, tmp_path, liveness="challenge")
    assert report["status"] == 422, report["body"]
    assert report["peak_mb"] < REPLICA_MEMORY_MB, report
