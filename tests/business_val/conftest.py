from collections.abc import Iterator

import pytest

from face_auth.config import Settings
from face_auth.data_access import Database, EmbeddedMongoServer, connect


@pytest.fixture
def database(mongo_server: EmbeddedMongoServer, settings: Settings) -> Iterator[Database]:
    """The test's own database on the shared real server, with the app's indexes; no HTTP."""
    assert mongo_server.uri is not None
    connected = connect(mongo_server.uri, settings.database_name, settings.db_timeout_ms)
    connected.ensure_indexes(settings.audit_retention_days)
    yield connected
    connected.client.drop_database(settings.database_name)
    connected.close()
