from face_auth.data_access import Database, DatabaseSupervisor, ServerState
from face_auth.exception import DatabaseUnavailable
from face_auth.face_pipeline import FaceModels


class ReadinessCheck:
    """What /healthz and /readyz report.

    Liveness fails only for what a restart of the app would cure: the embedded database
    server that the app supervises has failed for good. A database that is briefly down
    (being restarted, or an external MongoDB out of reach) makes the app unready, not dead.
    """

    def __init__(
        self, database: Database, models: FaceModels, supervisor: DatabaseSupervisor | None
    ) -> None:
        self._database = database
        self._models = models
        self._supervisor = supervisor

    def liveness(self) -> dict[str, str]:
        if self._supervisor is None:
            return {"database_process": "external"}
        return {"database_process": str(self._supervisor.state)}

    def is_alive(self) -> bool:
        return self._supervisor is None or self._supervisor.state != ServerState.FAILED

    def check(self) -> dict[str, bool]:
        try:
            self._database.ping()
            database_ok = True
        except DatabaseUnavailable:
            database_ok = False
        return {"database": database_ok, "models": True}
