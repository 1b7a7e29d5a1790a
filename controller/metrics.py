"""Prometheus metrics at /metrics: request latency by route, logins by factor and outcome,
face similarity, pipeline stage timings, face queue depth. One registry per app."""

import hmac
import time
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from controller.face_runner import BoundedRunner
from face_auth.exception import NotFound

SIMILARITY_BUCKETS = tuple(round(-0.2 + 0.1 * step, 1) for step in range(13))  # -0.2 .. 1.0


class PrometheusObserver:
    """The business rules' AuthObserver, backed by Prometheus metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Histogram(
            "face_auth_request_seconds", "HTTP request latency", ["method", "route", "status"],
            registry=registry,
        )  # fmt: skip
        self.logins = Counter(
            "face_auth_login_attempts_total", "Sign-in steps by factor and outcome",
            ["factor", "outcome"], registry=registry,
        )  # fmt: skip
        self.similarity = Histogram(
            "face_auth_face_similarity", "Cosine similarity of verified faces to their template",
            buckets=SIMILARITY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.stages = Histogram(
            "face_auth_pipeline_stage_seconds", "Face pipeline time per request and stage",
            ["stage"], registry=registry,
        )  # fmt: skip
        self.security_events = Counter(
            "face_auth_security_events_total",
            "Face holds started, one-time codes issued, used and refused", ["event"],
            registry=registry,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "face_auth_face_queue_depth", "Face checks waiting for a worker", registry=registry
        )
        self.in_flight = Gauge(
            "face_auth_face_in_flight", "Face checks running now", registry=registry
        )

    def login_attempt(self, factor: str, outcome: str) -> None:
        self.logins.labels(factor=factor, outcome=outcome).inc()

    def face_similarity(self, similarity: float) -> None:
        self.similarity.observe(similarity)

    def pipeline_timings(self, seconds_by_stage: Mapping[str, float]) -> None:
        for stage, seconds in seconds_by_stage.items():
            self.stages.labels(stage=stage).observe(seconds)

    def security_event(self, event: str) -> None:
        self.security_events.labels(event=event).inc()

    def track_runner(self, runner: BoundedRunner) -> None:
        self.queue_depth.set_function(lambda: runner.queue_depth)
        self.in_flight.set_function(lambda: runner.in_flight)


async def time_requests(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    # The route's template (/api/v1/face/verify), never the raw path, keeps labels bounded.
    path = getattr(route, "path", "unmatched")
    observer: PrometheusObserver = request.app.state.metrics
    observer.requests.labels(request.method, path, str(response.status_code)).observe(
        time.perf_counter() - started
    )
    return response


router = APIRouter(tags=["health"])


LOOPBACK = frozenset({"127.0.0.1", "::1"})


def may_scrape(request: Request) -> bool:
    """With FACE_AUTH_METRICS_TOKEN set, a scraper sends it as a bearer token; without it,
    only clients on this machine may read the metrics (a `make run` developer)."""
    token = request.app.state.settings.metrics_token
    if token is None:
        return request.client is not None and request.client.host in LOOPBACK
    expected = f"Bearer {token.get_secret_value()}"
    return hmac.compare_digest(request.headers.get("authorization", ""), expected)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    if not may_scrape(request):
        raise NotFound()  # as if there were none: nothing to learn for a stranger
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
