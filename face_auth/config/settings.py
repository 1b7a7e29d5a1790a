from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from face_auth.constant import DetectorRuntime, EmbedderKind, LandmarkRuntime


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FACE_AUTH_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    # Database: MONGODB_URI set means "use that server"; unset starts the embedded one.
    mongodb_uri: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("MONGODB_URI", "FACE_AUTH_MONGODB_URI")
    )
    database_name: str = "face_auth"
    db_timeout_ms: int = Field(default=2000, ge=100)
    embedded_db_startup_seconds: float = Field(default=60.0, gt=0)
    # The embedded server is restarted when it exits; after more than this many exits (or
    # failed starts) within the window the app gives up and /healthz reports it.
    embedded_db_max_restarts: int = Field(default=5, ge=0)
    embedded_db_restart_window_seconds: float = Field(default=60.0, gt=0)
    embedded_db_restart_delay_seconds: float = Field(default=0.5, ge=0)

    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # The public origin (https://auth.example.com): the OpenID Connect issuer unless
    # oidc_issuer says otherwise. Unset: http://<host>:<port>, what `make run` prints.
    public_url: str | None = None
    # Host headers the app answers besides the public URL's and the issuer's (comma-separated;
    # `*.example.com` allowed); any other gets 400 (TrustedHostMiddleware). Loopback by default,
    # for `make run` (127.0.0.1 and localhost) and a container's own health check.
    allowed_hosts: str = "127.0.0.1,localhost,[::1]"
    # Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (comma-separated
    # addresses or CIDR ranges, uvicorn's forwarded_allow_ips). Empty: no one's, not even
    # loopback's; the client address is the peer's.
    forwarded_allow_ips: str = ""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # /metrics answers only to this bearer token; unset, only to clients on this machine.
    metrics_token: SecretStr | None = None
    # The interactive API documentation (/docs, /openapi.json); off hides both.
    api_docs: bool = True

    # Tokens. Only HS256 is accepted when decoding: the allow-list has one entry.
    jwt_secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256"] = "HS256"
    # Biometric data at rest (docs/security.md): the key (base64 of 32 bytes) that wraps each
    # user's data key. Unset: generated once into data_dir/template_master_key (mode 0600).
    # Checked when the app starts (config/keys.py), so that no error message repeats it.
    template_master_key: SecretStr | None = None
    # Earlier master keys, comma-separated: data keys still wrapped by one of them are
    # re-wrapped under the current key at start-up (or by `face-auth keys rotate`).
    template_previous_master_keys: SecretStr | None = None
    password_token_minutes: int = Field(default=5, ge=1, le=60)
    # Changing a factor (face, recovery codes, password), deleting the account or consenting
    # to a new application needs a sign-in with both factors within this many minutes;
    # otherwise the password again (and the face, where the account has one) first.
    recent_auth_minutes: int = Field(default=5, ge=1, le=24 * 60)
    session_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # None: Secure cookies exactly when the request came over https.
    cookie_secure: bool | None = None

    bcrypt_rounds: int = Field(default=12, ge=12, le=16)
    # bcrypt runs in this many threads of its own; more logins wait up to the given seconds
    # in a queue of the given length, then get 503 with Retry-After.
    password_workers: int = Field(default=2, ge=1, le=32)
    password_queue_limit: int = Field(default=64, ge=0)
    password_queue_wait_seconds: float = Field(default=5.0, gt=0)
    # Largest body of any request but a face upload (whose limit follows from the frames).
    max_form_bytes: int = Field(default=64 * 1024, ge=1024)
    # Security events are kept this long, then removed by a TTL index.
    audit_retention_days: int = Field(default=365, ge=1)
    # Password attempts (business_val/password/lockout.py): this many failures per email
    # address, or per client address, then a hold that doubles with each further failure.
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_client_max_failures: int = Field(default=20, ge=1)
    # Attempts are remembered this long after the last one, or after a hold ends.
    login_failure_window_minutes: int = Field(default=15, ge=1)
    login_first_hold_seconds: int = Field(default=30, ge=1)
    login_max_hold_minutes: int = Field(default=60, ge=1)
    # Registrations per client address within the window, then the same holds.
    registrations_per_client: int = Field(default=10, ge=1)

    # Face factor. The models directory is DEEPFACE_HOME; nothing is downloaded at run time.
    models_dir: Path = Path("data/models")
    # Cosine similarity of the mean embedding to the template needed to accept a face.
    # Chosen for the login protocol (docs/accuracy.md): 0.09 above the closest impostor
    # template measured on held-out photos (0.61) and 0.13 above a look-alike's login (0.573).
    face_match_threshold: float = Field(default=0.7, gt=-1, lt=1)
    face_frames: int = Field(default=8, ge=1, le=16)
    face_enroll_min_frames: int = Field(default=6, ge=1)
    face_verify_min_frames: int = Field(default=5, ge=1)
    face_max_frame_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Photos the `face-auth` command reads from disk (a 48 MP phone JPEG can pass 5 MiB).
    face_max_photo_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    # Pixels a frame may declare in its header, checked before decoding: above what cameras
    # write by default (12 to 50 MP); JPEG is decoded straight to the working size.
    face_max_frame_pixels: int = Field(default=100_000_000, ge=64 * 64)
    # PNG and WebP cannot be decoded at a reduced size like JPEG: they are decoded whole, so
    # they get a lower limit that bounds the decode time (~0.5 s for 24 MP on 2 cores).
    face_max_full_decode_pixels: int = Field(default=24_000_000, ge=64 * 64)
    # Longest side of the working copy that detection runs on (JPEG is decoded straight to it).
    face_working_max_side: int = Field(default=1600, ge=320)
    # Failed face verifications allowed per password login before the password is asked again.
    face_max_failures: int = Field(default=3, ge=1)
    # Per account, across password logins (NIST SP 800-63B 5.2.2, 5.2.3): after this many
    # consecutive face failures or wrong recovery/enrollment codes the face step (and code
    # entry) is held off, first for face_hold_seconds, doubling with each further failure up
    # to face_hold_max_seconds. Only a face match or a right code resets it.
    face_account_max_failures: int = Field(default=5, ge=1, le=10)
    face_hold_seconds: int = Field(default=30, ge=30)
    face_hold_max_seconds: int = Field(default=3600, ge=30)
    # The first enrollment needs only the password within this many hours of registration;
    # any later one needs a full session or a one-time code.
    face_first_enroll_hours: int = Field(default=24, ge=0)
    recovery_codes: int = Field(default=10, ge=1, le=20)
    # Lifetime of the enrollment code `face-auth face reset` prints.
    enrollment_code_hours: int = Field(default=72, ge=1)
    # Requests embedding at once, and how many more may wait before new ones get 503.
    face_workers: int = Field(default=1, ge=1, le=32)
    face_queue_limit: int = Field(default=16, ge=0)
    # Liveness (docs/liveness.md): off, passive (replay and flat-surface checks) or challenge
    # (those plus a head movement the server asks for, proven by a single-use nonce).
    liveness: Literal["off", "passive", "challenge"] = "challenge"
    # The movements a challenge may ask for (comma-separated: turn_left, turn_right, look_up,
    # look_down).
    liveness_actions: str = "turn_left,turn_right,look_up,look_down"
    # Challenges one password sign-in may ask for; the next one ends the session.
    liveness_max_challenges: int = Field(default=5, ge=1, le=50)
    # How long a challenge nonce may be used.
    liveness_challenge_seconds: int = Field(default=60, ge=10, le=600)
    # Frames sent within this many hours for the same user are refused as a replay (0: off).
    liveness_replay_hours: int = Field(default=24, ge=0)
    # The liveness thresholds, calibrated by `face-auth evaluate-liveness` (docs/liveness.md):
    # the asked head movement (change of the yaw or pitch proxy, in face sizes), the homography
    # residual below which the face is a flat picture (in face widths), and how many frames
    # must show the movement and the residual.
    liveness_min_yaw_change: float = Field(default=0.08, gt=0, lt=1)
    liveness_min_pitch_change: float = Field(default=0.03, gt=0, lt=1)
    liveness_min_flat_residual: float = Field(default=0.015, ge=0, lt=1)
    liveness_sustained_frames: int = Field(default=2, ge=1, le=8)
    # The texture checks (docs/liveness.md): a frame must change beyond a 2D warp of the
    # reference (one photo animated); consecutive frames must not jump (a photo sequence).
    # FACE_AUTH_LIVENESS_TEXTURE_CHECK=false turns off only the single-picture check, for a
    # fake camera that can only show a rendered photo (the browser tests).
    liveness_min_texture_change: float = Field(default=0.5, ge=0, lt=10)
    liveness_texture_check: bool = True
    liveness_max_texture_jump: float = Field(default=0.85, gt=0, lt=10)
    liveness_max_colour_jump: float = Field(default=3.0, gt=0, le=100)
    liveness_max_brightness_jump: float = Field(default=0.16, gt=0, lt=10)
    liveness_max_background_jump: float = Field(default=22.0, gt=0, le=255)
    # Frames the page captures (and a request may carry) for a challenge; the embedding keeps
    # the face_frames most frontal of them.
    face_capture_frames: int = Field(default=12, ge=1, le=32)
    # TensorFlow, ONNX Runtime and LiteRT threads per op (0: their default, one per core).
    tf_intra_op_threads: int = Field(default=0, ge=0)
    # The face models' engine: ONNX Runtime (FaceNet and MTCNN converted at install time and
    # checked against their originals) with the landmark model on LiteRT, no TensorFlow in
    # the app (issue 25); or TensorFlow, the reference (docs/performance.md).
    face_embedder: EmbedderKind = "onnx"
    # With the "onnx" engine: FaceNet quantised to INT8 at install (calibrated on the dataset's
    # train faces, kept only within 0.01 cosine of float32 on its val faces): ~4x faster, the
    # same EER and TAR at FAR 0.1 % (docs/performance.md, docs/accuracy.md). false: float32.
    face_embedder_int8: bool = True
    # With the "onnx" engine, the landmark model runs on LiteRT: the pinned .tflite file itself
    # with XNNPACK, a request's 12 faces in ~15 ms of CPU against ~50 on ONNX Runtime
    # (docs/performance.md). "onnx": its conversion on ONNX Runtime, where LiteRT has no wheel.
    face_landmark_runtime: LandmarkRuntime = "litert"
    # With the "onnx" engine, MTCNN's networks run on LiteRT too: their TFLite conversions
    # (made at install, kept only within 1e-4 of Keras), a request's detection in ~25 % less
    # CPU than on ONNX Runtime (docs/performance.md). "onnx": their ONNX conversions.
    face_detector_runtime: DetectorRuntime = "litert"
    # glibc malloc arenas for the app process (0: glibc's default, 8 per core): 2 keeps the
    # peak RSS of a loaded 2-core replica ~70 MB lower at the same speed (docs/performance.md).
    malloc_arenas: int = Field(default=2, ge=0)

    # Mail (docs/mail.md): off until smtp_host is set. Off, registration needs no email
    # verification and password reset links go to the log (development only). On, a new
    # account must open the link mailed to it before its first sign-in, and reset links go by
    # mail. starttls: plain connection upgraded (port 587); ssl: TLS from the start (465);
    # none: no encryption, for a relay on this machine only (credentials are then refused).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: SecretStr | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    mail_from: str = "face_auth <no-reply@localhost>"
    # Lifetimes of the links mailed for a password reset and an email verification.
    password_reset_minutes: int = Field(default=30, ge=5, le=24 * 60)
    email_verification_hours: int = Field(default=24, ge=1, le=7 * 24)
    # Identify mode (1:N, docs/identify.md): registered kiosks recognise users who opted in,
    # without a username. Off by default (FACE_AUTH_IDENTIFY=on); off, its routes answer 404.
    identify: bool = False
    # The threshold is set so that a search of a stranger falsely names someone at most this
    # often (1e-4: 1 in 10,000 searches) in a gallery of identify_gallery_size templates (the
    # actual number of opted-in templates when larger); never below face_match_threshold.
    identify_false_identification_rate: float = Field(default=1e-4, gt=0, lt=1)
    identify_gallery_size: int = Field(default=10_000, ge=1)
    # The best candidate must beat the second-best by this much, else no answer.
    identify_margin: float = Field(default=0.05, ge=0, lt=1)
    # Impostor similarities (template against another person's probe), measured with
    # `face-auth evaluate identify` on the 5-celebrity set (docs/accuracy.md, 13,560 scores):
    # their mean and the spread of their upper tail, from which the threshold follows (0.655
    # at 10,000 templates and 1e-4, so the 0.70 floor binds; 0.702 at 100,000).
    identify_impostor_mean: float = Field(default=-0.018, gt=-1, lt=1)
    identify_impostor_spread: float = Field(default=0.12, gt=0, lt=1)
    # Identify calls (and challenges) one kiosk may make per minute; more get 429.
    identify_kiosk_requests_per_minute: int = Field(default=30, ge=1, le=10_000)
    # A kiosk's frames are refused as a replay of any it sent within this many minutes (its
    # own window: a busy kiosk's frames would otherwise pile up for liveness_replay_hours).
    identify_kiosk_replay_minutes: int = Field(default=10, ge=0, le=24 * 60)

    # OpenID Connect provider (docs/oidc.md). The issuer URL; unset: public_url (or its
    # default), never a request's Host header.
    oidc_issuer: str | None = None
    # The ES256 key ring that signs ID tokens; unset: data_dir/oidc_keys.json, generated once
    # (mode 0600). `face-auth signing-key rotate` rotates it.
    oidc_keys_file: Path | None = None
    oidc_code_seconds: int = Field(default=60, ge=10, le=600)
    oidc_access_token_minutes: int = Field(default=10, ge=1, le=24 * 60)
    oidc_id_token_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # Refresh tokens (scope offline_access): one family per sign-in, rotated on each use, dead
    # this many days after the sign-in whatever the rotations.
    oidc_refresh_token_days: int = Field(default=30, ge=1, le=365)

    @model_validator(mode="after")
    def _no_credentials_in_the_clear(self) -> "Settings":
        """SMTP credentials are sent only over TLS, or to a relay on this machine."""
        loopback = self.smtp_host in ("localhost", "127.0.0.1", "::1")
        if self.smtp_security == "none" and self.smtp_username is not None and not loopback:
            raise ValueError(
                "FACE_AUTH_SMTP_SECURITY=none would send the SMTP password unencrypted: use "
                "starttls or ssl, or a relay on this machine"
            )
        return self

    @property
    def mail_enabled(self) -> bool:
        """Mail is on (verification required, links mailed) when an SMTP host is set."""
        return bool(self.smtp_host)

    @property
    def public_origin(self) -> str:
        """Where users and relying parties reach the app, from configuration only (never
        from a request's Host header)."""
        configured = self.public_url or self.oidc_issuer
        if configured:
            return configured.rstrip("/")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host  # noqa: S104
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def issuer(self) -> str:
        """The OpenID Connect issuer: oidc_issuer, else the public origin."""
        return (self.oidc_issuer or self.public_origin).rstrip("/")

    @property
    def trusted_hosts(self) -> list[str]:
        """Every Host header the app answers: allowed_hosts, the public URL's and the
        issuer's."""
        hosts = [host.strip() for host in self.allowed_hosts.split(",") if host.strip()]
        for url in (self.public_origin, self.issuer):
            hostname = urlsplit(url).hostname
            hostname = f"[{hostname}]" if hostname and ":" in hostname else hostname
            if hostname and hostname not in hosts:
                hosts.append(hostname)
        return hosts

    @property
    def db_path(self) -> Path:
        return self.data_dir / "db"

    @property
    def oidc_keys_path(self) -> Path:
        return self.oidc_keys_file or self.data_dir / "oidc_keys.json"

    @property
    def secret_path(self) -> Path:
        return self.data_dir / "secret"

    @property
    def template_master_key_path(self) -> Path:
        return self.data_dir / "template_master_key"
