from face_auth.data_access import Database
from face_auth.exception import DatabaseUnavailable
from face_auth.face_pipeline import FaceModels


class ReadinessCheck:
    """What /readyz reports: each dependency the service needs, and whether it answers."""

    def __init__(self, database: Database, models: FaceModels | None) -> None:
        self._database = database
        self._models = models

    def check(self) -> dict[str, bool]:
        try:
            self._database.ping()
            database_ok = True
        except DatabaseUnavailable:
            database_ok = False
        return {"database": database_ok, "models": self._models is not None}
