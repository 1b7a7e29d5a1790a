"""End-to-end fixtures: the app as a real server (default settings: liveness challenges on,
pinned to one head movement), Chromium with a fake camera fed by y4m videos rendered from real
photos (tests/e2e/camera.py), one browser context per test.

Needs /usr/bin/chromium and ffmpeg (`make browser` installs them) and the face models.
Screenshots of every step go to test-artifacts/e2e/<test name>/.
"""

import itertools
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright
from pymongo import MongoClient

from app import pipeline_config
from face_auth.config import Settings
from face_auth.data_access import EmbeddedMongoServer
from face_auth.face_pipeline import FaceModels, cosine_similarity
from tests.conftest import MODELS_DIR, ROOT
from tests.e2e.camera import ACTION, CameraVideo, ffmpeg, flat_photo_video, person_videos
from tests.e2e.pages import Tab, User, enroll_on_page, log_out, login_on_page, register_via_api
from tests.support import running_app

ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
VIEWPORT = {"width": 1100, "height": 860}

ENROLL, VERIFY, OTHER, FLAT = "jerry_enroll", "jerry_verify", "mindy", "jerry_flat_photo"
DENIED = "denied"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: drives Chromium with a fake camera against the app run as a server"
    )


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def app_settings() -> Settings:
    """The settings the server under test runs with: the defaults, but every challenge asks for
    the movement the fake cameras' videos show, and the single-picture check is off: a fake
    camera can only play a head turn rendered from one photo, which that check rightly refuses
    (tests/api/test_liveness.py covers it with real video and with such renders)."""
    return Settings(
        models_dir=MODELS_DIR, liveness_actions=ACTION.value, liveness_texture_check=False
    )


@pytest.fixture(scope="session")
def camera_videos(
    face_models: FaceModels,
    dataset_dir: Path,
    app_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, CameraVideo]:
    """Four fake cameras: Jerry turning his head (two different photos: one to enroll, one to
    verify), Mindy turning hers, and a flat photo of Jerry turned as a plane. The page's
    capture of each head turn passed the app's gates and liveness checks; the similarities
    below are what the tests rely on, checked here so a failure names the cause."""
    ffmpeg()
    out = tmp_path_factory.mktemp("camera")
    config = pipeline_config(app_settings)
    enroll, verify = person_videos(face_models, dataset_dir, "jerry_seinfeld", 2, out, config)
    [other] = person_videos(face_models, dataset_dir, "mindy_kaling", 1, out, config)
    threshold = app_settings.face_match_threshold
    same = cosine_similarity(enroll.embedding, verify.embedding)
    different = cosine_similarity(enroll.embedding, other.embedding)
    assert same >= threshold + 0.1, f"Jerry's two videos are too far apart: {same:.2f}"
    assert different <= threshold - 0.2, f"Mindy's video is too close to Jerry's: {different:.2f}"
    flat = flat_photo_video(face_models, dataset_dir, "jerry_seinfeld", out / "flat.y4m", config)
    return {ENROLL: enroll, VERIFY: verify, OTHER: other, FLAT: flat}


@pytest.fixture(scope="session")
def live_app_env(
    mongo_server: EmbeddedMongoServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment of the server under test (also what `face-auth` commands need to act
    on its database, e.g. to register an OpenID Connect client)."""
    assert mongo_server.uri is not None
    return {
        "MONGODB_URI": mongo_server.uri,
        "FACE_AUTH_DATABASE_NAME": f"e2e_{uuid.uuid4().hex[:12]}",
        "FACE_AUTH_DATA_DIR": str(tmp_path_factory.mktemp("e2e-app") / "data"),
        "FACE_AUTH_JWT_SECRET": "e2e-" + uuid.uuid4().hex + uuid.uuid4().hex,
        "FACE_AUTH_MODELS_DIR": str(MODELS_DIR),
        "FACE_AUTH_LOG_LEVEL": "INFO",
        # Liveness in its default mode (challenge), always asking for the fake cameras' move.
        "FACE_AUTH_LIVENESS_ACTIONS": ACTION.value,
        # Chromium plays a fake camera's video from its first frame each time the page opens
        # the camera, so a second capture from one camera sends the same frames again, which
        # the cross-request replay check rightly refuses (tests/api/test_liveness.py covers it).
        "FACE_AUTH_LIVENESS_REPLAY_HOURS": "0",
        # The fake cameras play renders of one photo: only the single-picture check is off
        # (app_settings says why); every other liveness check runs as by default.
        "FACE_AUTH_LIVENESS_TEXTURE_CHECK": "false",
        # Every test's users register from 127.0.0.1: more than the default 10 per address
        # and window (tests/api/test_password_security.py covers that limit).
        "FACE_AUTH_REGISTRATIONS_PER_CLIENT": "100",
    }


@pytest.fixture(scope="session")
def live_app(
    live_app_env: dict[str, str],
    face_models: FaceModels,  # makes sure the weights are installed before the server starts
    artifacts_dir: Path,
) -> Iterator[str]:
    """`python app.py` as a real uvicorn server on 127.0.0.1 (a secure context for the camera),
    on the session's SecantusDB server, with its own database."""
    with running_app(live_app_env, artifacts_dir / "app.log", timeout=180) as base_url:
        yield base_url
    with MongoClient(live_app_env["MONGODB_URI"]) as client:
        client.drop_database(live_app_env["FACE_AUTH_DATABASE_NAME"])


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser`")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browsers(
    playwright_driver: Playwright, camera_videos: dict[str, CameraVideo]
) -> Iterator[Callable[[str], Browser]]:
    """One Chromium per camera, launched on first use: a camera video name, or DENIED for a
    browser whose camera permission prompt is refused."""
    launched: dict[str, Browser] = {}

    def browser(camera: str) -> Browser:
        if camera not in launched:
            if camera == DENIED:
                media = ["--use-fake-device-for-media-stream", "--deny-permission-prompts"]
            else:
                media = [
                    "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-video-capture={camera_videos[camera].path}",
                ]
            launched[camera] = playwright_driver.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + media
            )
        return launched[camera]

    yield browser
    for opened in launched.values():
        opened.close()


@pytest.fixture
def open_tab(
    request: pytest.FixtureRequest,
    browsers: Callable[[str], Browser],
    live_app: str,
    artifacts_dir: Path,
) -> Iterator[Callable[[str], Tab]]:
    """A fresh context (no cookies) on the browser of a camera; fails the test on any JS error."""
    contexts: list[BrowserContext] = []
    tabs: list[Tab] = []
    shots_dir = artifacts_dir / request.node.name
    shots_dir.mkdir(exist_ok=True)
    numbers = itertools.count(1)  # one sequence of screenshots per test, across its tabs

    def open_one(camera: str) -> Tab:
        context = browsers(camera).new_context(
            base_url=live_app, viewport=VIEWPORT, locale="en-GB", permissions=[]
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        tab = Tab(page=page, shots_dir=shots_dir, numbers=numbers)
        page.on("pageerror", lambda error: tab.errors.append(str(error)))
        tabs.append(tab)
        return tab

    yield open_one
    for context in contexts:
        context.close()
    errors = [error for tab in tabs for error in tab.errors]
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def enrolled_with_codes(open_tab: Callable[[str], Tab], live_app: str) -> tuple[User, list[str]]:
    """Jerry, registered, enrolled from his first camera video in the browser, logged out; with
    the recovery codes the page showed him."""
    user = User.new("Jerry Seinfeld")
    register_via_api(live_app, user)
    tab = open_tab(ENROLL)
    login_on_page(tab, user, "/application/face/enroll")
    codes = enroll_on_page(tab, user)
    log_out(tab)
    return user, codes


@pytest.fixture
def enrolled_user(enrolled_with_codes: tuple[User, list[str]]) -> User:
    return enrolled_with_codes[0]
