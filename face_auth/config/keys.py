"""The template master keys named by the settings (docs/security.md, biometric data at rest)."""

from face_auth.config.secret import decode_master_key, load_or_create_master_key, split_keys
from face_auth.config.settings import Settings

CURRENT_KEY_VARIABLE = "FACE_AUTH_TEMPLATE_MASTER_KEY"
PREVIOUS_KEYS_VARIABLE = "FACE_AUTH_TEMPLATE_PREVIOUS_MASTER_KEYS"


def _decode(text: str, variable: str) -> bytes:
    try:
        return decode_master_key(text)
    except ValueError as error:  # the message names the variable, never the value
        raise ValueError(f"{variable}: {error}") from None


def template_master_keys(settings: Settings) -> tuple[bytes, tuple[bytes, ...]]:
    """The current master key (generated into the data directory when unset) and the
    previous ones, which are only used to unwrap data keys not yet re-wrapped. ValueError
    when a configured key is not base64 of 32 bytes."""
    if settings.template_master_key is not None:
        current = _decode(settings.template_master_key.get_secret_value(), CURRENT_KEY_VARIABLE)
    else:
        current = load_or_create_master_key(settings.template_master_key_path)
    previous = settings.template_previous_master_keys
    texts = split_keys(previous.get_secret_value()) if previous is not None else []
    return current, tuple(_decode(text, PREVIOUS_KEYS_VARIABLE) for text in texts)
