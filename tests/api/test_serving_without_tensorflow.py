"""The serving process never imports TensorFlow (issue 25): the app, started in a fresh
interpreter through its lifespan (models loaded as the app loads them), registers, enrolls
and verifies a user over HTTP, and TensorFlow (nor tf_keras, deepface, mtcnn) is then
neither in ``sys.modules`` nor mapped into the process."""

from pathlib import Path

from face_auth.config import Settings
from tests.face_data import PersonFrames
from tests.support import run_app_script

SERVE_AND_VERIFY = """
import json, sys
from pathlib import Path
from fastapi.testclient import TestClient
from app import create_app
from face_auth.config import Settings
from tests.support import PASSWORD, csrf_headers, registration

settings = Settings(**json.loads(sys.argv[1]))
paths = json.loads(sys.argv[2])
frames = {step: [Path(path).read_bytes() for path in paths[step]] for step in paths}
statuses = []

def post(client, path, **kwargs):
    return client.post(path, headers=csrf_headers(client), **kwargs)

def post_frames(client, step):
    files = [("frames", (f"f{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames[step])]
    response = post(client, f"/api/v1/face/{step}", files=files)
    statuses.append((step, response.status_code, response.json().get("accepted")))

with TestClient(create_app(settings), follow_redirects=False) as client:
    body = registration("notf")
    statuses.append(("register", post(client, "/api/v1/users", json=body).status_code))
    login = {"email": body["email"], "password": PASSWORD}
    statuses.append(("password", post(client, "/api/v1/sessions", json=login).status_code))
    post_frames(client, "enroll")
    statuses.append(("password", post(client, "/api/v1/sessions", json=login).status_code))
    post_frames(client, "verify")
    ready = client.get("/readyz").status_code

heavy = ("tensorflow", "tf_keras", "keras", "deepface", "mtcnn", "tflite_runtime")
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(heavy))
maps = Path("/proc/self/maps").read_text()
print(json.dumps({"statuses": statuses, "ready": ready, "loaded": loaded,
                  "tensorflow_mapped": "tensorflow" in maps}))
"""


def test_the_app_serves_a_verification_without_tensorflow(
    settings: Settings, alice: PersonFrames, tmp_path: Path
) -> None:
    paths = {}
    for step, frames in (("enroll", alice.enroll), ("verify", alice.verify)):
        paths[step] = []
        for index, data in enumerate(frames):
            path = tmp_path / f"{step}-{index}.jpg"
            path.write_bytes(data)
            paths[step].append(str(path))
    report = run_app_script(SERVE_AND_VERIFY, settings, paths, tmp_path)
    assert report["statuses"] == [
        ["register", 201], ["password", 200], ["enroll", 200, True],
        ["password", 200], ["verify", 200, True],
    ]  # fmt: skip
    assert report["ready"] == 200
    assert report["loaded"] == []
    assert report["tensorflow_mapped"] is False
