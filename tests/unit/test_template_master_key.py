"""The template master key: generated once with mode 0600; a bad setting is refused without
echoing it."""

import base64
import stat
from pathlib import Path

import pytest

from face_auth.config import Settings, template_master_keys


def test_an_unset_master_key_is_generated_once_into_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    first, previous = template_master_keys(settings)
    assert len(first) == 32 and previous == ()
    assert stat.S_IMODE(settings.template_master_key_path.stat().st_mode) == 0o600
    assert template_master_keys(settings)[0] == first


def test_configured_keys_are_used_in_order(tmp_path: Path) -> None:
    keys = [bytes([n]) * 32 for n in range(3)]
    text = [base64.b64encode(key).decode() for key in keys]
    settings = Settings(data_dir=tmp_path, template_master_key=text[0],
                        template_previous_master_keys=f"{text[1]}, {text[2]}")  # fmt: skip
    assert template_master_keys(settings) == (keys[0], (keys[1], keys[2]))
    assert not settings.template_master_key_path.exists()


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_master_key_stops_the_app_without_showing_it(value: str, tmp_path: Path) -> None:
    for field in ("template_master_key", "template_previous_master_keys"):
        settings = Settings(data_dir=tmp_path, **{field: value})
        with pytest.raises(ValueError, match=f"FACE_AUTH_{field.upper()}") as error:
            template_master_keys(settings)
        assert value not in str(error.value)
