from collections.abc import Iterator
from contextlib import contextmanager

from face_auth.config import Settings, template_master_keys
from face_auth.data_access import (
    Database,
    DataKeyRepository,
    EmbeddedMongoServer,
    TemplateCipher,
    connect,
)
from face_auth.data_access.embedded_server import read_running_server


@contextmanager
def open_database(settings: Settings) -> Iterator[Database]:
    """MONGODB_URI if set; else the embedded server the app is running on this data dir
    (its storage can be opened by one process only); else a server of our own for the
    duration of the command."""
    embedded: EmbeddedMongoServer | None = None
    if settings.mongodb_uri is not None:
        uri = settings.mongodb_uri.get_secret_value()
    else:
        running = read_running_server(settings.data_dir / "secantusd.json")
        if running is not None:
            uri = running
        else:
            embedded = EmbeddedMongoServer(settings.db_path, settings.embedded_db_startup_seconds)
            uri = embedded.start()
    database = connect(uri, settings.database_name, settings.db_timeout_ms)
    try:
        yield database
    finally:
        database.close()
        if embedded is not None:
            embedded.stop()


def template_cipher(settings: Settings, database: Database) -> TemplateCipher:
    """The cipher of the face templates, with the master keys the settings name (the same
    the app uses: FACE_AUTH_TEMPLATE_MASTER_KEY or the key file in the data directory)."""
    current, previous = template_master_keys(settings)
    return TemplateCipher(current, previous, DataKeyRepository(database))
