"""The face pipeline runs in a bounded worker pool: it never stalls other requests, and a full
queue is refused at once with 503 instead of piling up."""

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from app import create_app
from face_auth.config import Settings
from tests.api.test_face_api import post_frames, signed_in
from tests.api.test_face_attempts import raw_upload
from tests.face_data import PersonFrames

pytestmark = pytest.mark.models


@pytest.fixture
def single_worker_client(settings: Settings) -> Iterator[TestClient]:
    narrow = settings.model_copy(update={"face_workers": 1, "face_queue_limit": 0})
    with TestClient(create_app(narrow), follow_redirects=False) as client:
        yield client


def wait_until_busy(client: TestClient, timeout: float = 30) -> None:
    runner = client.app.state.face_runner
    deadline = time.monotonic() + timeout
    while runner.in_flight == 0:
        assert time.monotonic() < deadline, "the face request never started"
        time.sleep(0.02)


def test_other_requests_are_served_while_a_face_is_checked(
    single_worker_client: TestClient, alice: PersonFrames
) -> None:
    client = single_worker_client
    signed_in(client, "nostall")
    with ThreadPoolExecutor(max_workers=1) as pool:
        enrolling = pool.submit(post_frames, client, "enroll", alice.enroll)
        wait_until_busy(client)
        started = time.perf_counter()
        health = client.get("/healthz")
        page = client.get("/auth/login")
        elapsed = time.perf_counter() - started
        still_running = not enrolling.done()
        assert enrolling.result().status_code == 200
    assert health.status_code == page.status_code == 200
    assert still_running, "the face request ended before the other requests were timed"
    assert elapsed < 1.0, elapsed


def test_full_queue_is_refused_with_503_and_retry_after(
    single_worker_client: TestClient, alice: PersonFrames
) -> None:
    client = single_worker_client
    signed_in(client, "busy")
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(post_frames, client, "enroll", alice.enroll)
        wait_until_busy(client)
        second = post_frames(client, "enroll", alice.enroll)
        assert first.result().status_code == 200
    assert second.status_code == 503
    assert second.json()["error"] == "busy"
    assert second.headers["retry-after"] == "2"


def test_a_full_runner_refuses_before_the_upload_is_read(
    single_worker_client: TestClient, alice: PersonFrames
) -> None:
    client = single_worker_client
    signed_in(client, "busyfirst")
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(post_frames, client, "enroll", alice.enroll)
        wait_until_busy(client)
        refused = raw_upload(client, "/api/v1/face/enroll", megabytes=40)
        assert first.result().status_code == 200
    assert refused == (503, 0)
