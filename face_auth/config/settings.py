from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Tokens. Only HS256 is accepted when decoding: the allow-list has one entry.
    jwt_secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256"] = "HS256"
    password_token_minutes: int = Field(default=5, ge=1, le=60)
    session_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # None: Secure cookies exactly when the request came over https.
    cookie_secure: bool | None = None

    bcrypt_rounds: int = Field(default=12, ge=12, le=16)
    # Security events are kept this long, then removed by a TTL index.
    audit_retention_days: int = Field(default=365, ge=1)
    # Password lockout, per email address: this many failures within the window lock it.
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window_minutes: int = Field(default=15, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)

    # Face factor. The models directory is DEEPFACE_HOME; nothing is downloaded at run time.
    models_dir: Path = Path("data/models")
    # Cosine similarity of the mean embedding to the template needed to accept a face.
    # Calibrated on measured FAR/FRR (docs/accuracy.md): no impostor reached it.
    face_match_threshold: float = Field(default=0.5, gt=-1, lt=1)
    face_frames: int = Field(default=8, ge=1, le=16)
    face_enroll_min_frames: int = Field(default=6, ge=1)
    face_verify_min_frames: int = Field(default=5, ge=1)
    face_max_frame_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    face_max_frame_pixels: int = Field(default=2048 * 2048, ge=64 * 64)
    # Failed face verifications allowed per password login before the password is asked again.
    face_max_failures: int = Field(default=3, ge=1)
    # Requests embedding at once, and how many more may wait before new ones get 503.
    face_workers: int = Field(default=1, ge=1, le=32)
    face_queue_limit: int = Field(default=16, ge=0)
    # TensorFlow threads per op (0: TensorFlow's default, one per core).
    tf_intra_op_threads: int = Field(default=0, ge=0)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "db"

    @property
    def secret_path(self) -> Path:
        return self.data_dir / "secret"
