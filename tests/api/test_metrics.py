import re

import pytest
from fastapi.testclient import TestClient

from app import create_app
from face_auth.config import Settings
from tests.api.test_face_api import post_frames, signed_in
from tests.api.test_login import login
from tests.face_data import PersonFrames
from tests.support import PASSWORD, metrics_text


def metric(text: str, name: str, **labels: str) -> float:
    label_text = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = rf"^{re.escape(name)}(?:\{{{re.escape(label_text)}\}})? ([0-9.e+-]+)$"
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"{name}{{{label_text}}} not in metrics"
    return float(match.group(1))


@pytest.mark.models
def test_metrics_count_logins_similarity_stages_and_latency(
    client: TestClient, alice: PersonFrames
) -> None:
    user = signed_in(client, "metrics")
    login(client, user["email"], "wrong password!")
    assert post_frames(client, "enroll", alice.enroll).status_code == 200
    client.cookies.clear()
    login(client, user["email"], PASSWORD)
    assert post_frames(client, "verify", alice.verify).status_code == 200

    text = metrics_text(client)
    logins = "face_auth_login_attempts_total"
    assert metric(text, logins, factor="pwd", outcome="success") == 2
    assert metric(text, logins, factor="pwd", outcome="failure") == 1
    assert metric(text, logins, factor="enroll", outcome="success") == 1
    assert metric(text, logins, factor="face", outcome="success") == 1
    assert metric(text, "face_auth_face_similarity_count") == 1
    assert metric(text, "face_auth_face_similarity_bucket", le="0.4") == 0  # it matched well
    assert metric(text, "face_auth_pipeline_stage_seconds_count", stage="embed") == 2
    assert metric(text, "face_auth_pipeline_stage_seconds_sum", stage="detect") > 0
    assert metric(text, "face_auth_face_queue_depth") == 0
    assert metric(
        text, "face_auth_request_seconds_count", method="POST", route="/api/v1/sessions",
        status="200",
    ) == 2  # fmt: skip


def test_metrics_need_the_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 404
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 404
    assert "face_auth_login_attempts_total" in metrics_text(client)


def test_without_a_token_only_this_machine_may_scrape(settings: Settings) -> None:
    open_settings = settings.model_copy(update={"metrics_token": None})
    app = create_app(open_settings)
    with TestClient(app, client=("203.0.113.5", 4000)) as remote:
        assert remote.get("/metrics").status_code == 404
    with TestClient(app, client=("127.0.0.1", 4000)) as local:
        assert local.get("/metrics").status_code == 200
