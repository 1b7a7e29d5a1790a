"""docs/setup.md is the configuration reference: every setting, its variable and its default."""

from pathlib import Path

import pytest
from pydantic_core import PydanticUndefined

from face_auth.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SETUP = (ROOT / "docs" / "setup.md").read_text()


def env_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    choices = getattr(alias, "choices", None)
    return str(choices[0]) if choices else f"FACE_AUTH_{field.upper()}"


def documented_default(default: object) -> tuple[str, ...]:
    if default is None:
        return ("unset", "auto")
    if isinstance(default, float):
        return (f"`{default:g}`",)
    return (f"`{default}`",)


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented_with_its_default(field: str) -> None:
    name = env_name(field)
    rows = [line for line in SETUP.splitlines() if line.startswith(f"| `{name}`")]
    assert len(rows) == 1, f"docs/setup.md needs one table row for {name}"
    default = Settings.model_fields[field].default
    assert default is not PydanticUndefined
    assert any(text in rows[0] for text in documented_default(default)), (rows[0], default)


def test_setup_documents_the_admin_commands() -> None:
    for command in (
        "users list",
        "users show EMAIL",
        "users delete EMAIL",
        "users unlock EMAIL",
        "face reset EMAIL",
        "db check",
        "db export FILE",
        "db import FILE",
        "serve",
    ):
        assert f"`face-auth {command}`" in SETUP, command
