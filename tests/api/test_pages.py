"""The pages' side of issue 26, through the app: the face page's wording follows the settings,
a refusal says the tries left, the last try's end is explained, browser navigations to API
paths get a page, the favicon is served, signed-in pages are never cached."""

from fastapi.testclient import TestClient

from app import create_app
from face_auth.config import Settings
from face_auth.face_pipeline.liveness import INSTRUCTIONS, Action
from tests.api.test_face_api import post_frames, signed_in
from tests.api.test_face_attempts import enrolled_then_logged_out
from tests.api.test_login import login
from tests.face_data import PersonFrames
from tests.support import PASSWORD, csrf_headers


def text_of(html: str) -> str:
    """The page with its whitespace runs (template line breaks) as single spaces."""
    return " ".join(html.split())


NAVIGATION = {
    "sec-fetch-mode": "navigate",
    "sec-fetch-dest": "document",
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
}


def test_face_page_says_the_frame_count_of_the_mode(client: TestClient, settings: Settings) -> None:
    signed_in(client, "wording")
    page = client.get("/application/face/enroll")
    assert page.status_code == 200
    text = text_of(page.text)
    assert f"take {settings.face_frames} pictures about a quarter of a second apart" in text
    assert f"At least {settings.face_enroll_min_frames} must show your face" in text
    assert "Step 2 of 2" in text and "Cancel and log out" in text


def test_face_page_in_challenge_mode_shows_the_movement_before_start(settings: Settings) -> None:
    challenge = settings.model_copy(update={"liveness": "challenge", "liveness_actions": "look_up"})
    with TestClient(create_app(challenge), follow_redirects=False) as client:
        signed_in(client, "challenge")
        page = text_of(client.get("/application/face/enroll").text)
    assert f"take {challenge.face_capture_frames} pictures" in page
    assert 'data-action="look_up"' in page
    assert INSTRUCTIONS[Action.LOOK_UP] in page
    assert "count down 3, 2, 1" in page


def test_home_page_counts_the_frames_from_the_settings(
    client: TestClient, settings: Settings
) -> None:
    home = text_of(client.get("/").text)
    assert f"checked from {settings.face_frames} camera pictures" in home
    assert "eight" not in home


def test_a_refused_verification_says_the_tries_left(
    client: TestClient, alice: PersonFrames, bob: PersonFrames, settings: Settings
) -> None:
    user = enrolled_then_logged_out(client, "tries", alice)
    login(client, user["email"], PASSWORD)
    refused = post_frames(client, "verify", bob.verify)
    assert refused.status_code == 401
    result = refused.json()["result"]
    assert result["attempts_left"] == settings.face_max_failures - 1
    assert result["retry_after"] is None
    page = client.get("/application/face/verify")
    assert f'data-attempts-left="{settings.face_max_failures - 1}"' in page.text
    assert f"{settings.face_max_failures - 1} tries left" in text_of(page.text)


def test_the_last_wrong_code_ends_the_sign_in_with_a_reason(
    client: TestClient, settings: Settings
) -> None:
    signed_in(client, "codes")
    headers = csrf_headers(client)
    for attempt in range(1, settings.face_max_failures + 1):
        answer = client.post("/application/face/recover", data={"code": "WRONG"}, headers=headers)
        if attempt < settings.face_max_failures:
            assert answer.status_code == 401
            left = settings.face_max_failures - attempt
            assert f"{left} {'try' if left == 1 else 'tries'} left" in text_of(answer.text)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/auth/login?tries_spent=1"
    login_page = client.get(answer.headers["location"])
    assert "That was the last face try of your sign-in" in login_page.text


def test_a_browser_opening_an_api_path_gets_a_page(client: TestClient) -> None:
    page = client.get("/api/v1/me/export", headers=NAVIGATION)
    assert page.status_code == 401
    assert page.headers["content-type"].startswith("text/html")
    assert "Sign-in required" in page.text
    # fetch() and API clients keep their JSON, even when they accept HTML.
    fetched = client.get("/api/v1/me/export", headers={**NAVIGATION, "sec-fetch-mode": "cors"})
    assert fetched.json()["error"] == "not_authenticated"
    assert client.get("/api/v1/me/export").json()["error"] == "not_authenticated"
    missing = client.get("/api/v1/nothing-here", headers=NAVIGATION)
    assert missing.status_code == 404 and "Page not found" in missing.text


def test_the_favicon_is_linked_and_served(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert client.get("/static/favicon.svg").status_code == 200
    assert 'rel="icon" href="/static/favicon.svg"' in client.get("/auth/login").text


def test_signed_in_pages_are_not_cached_and_show_the_signed_in_header(
    client: TestClient, alice: PersonFrames
) -> None:
    signed_in(client, "header")
    assert post_frames(client, "enroll", alice.enroll).status_code == 200
    for path in ("/application/", "/auth/password", "/application/account/delete"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert page.headers["cache-control"] == "no-store", path
        assert 'id="nav-account"' in page.text, path
        assert 'href="/auth/register"' not in page.text, path
    enroll = client.get("/application/face/enroll").text
    assert "Step 2 of 2" not in enroll and "Cancel and log out" not in enroll
