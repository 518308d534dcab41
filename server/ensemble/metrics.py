"""Prometheus metrics, one registry per app so tests can build apps side by side."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.connections = Gauge(
            "ensemble_connections", "Open WebSocket connections", registry=self.registry
        )
        self.rooms = Gauge(
            "ensemble_rooms_active", "Rooms with members on this process", registry=self.registry
        )
        self.requests = Counter(
            "ensemble_requests", "Requests received, by type", ["type"], registry=self.registry
        )
        self.errors = Counter(
            "ensemble_errors", "Errors answered, by code", ["code"], registry=self.registry
        )
        self.deliveries = Counter(
            "ensemble_deliveries", "Event frames queued to sockets", registry=self.registry
        )
        self.slow_consumers = Counter(
            "ensemble_slow_consumers", "Sockets cut loose for falling behind",
            registry=self.registry,
        )
        self.fanout_latency = Histogram(
            "ensemble_fanout_latency_seconds",
            "From an event's commit to its frames being queued on this process",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=self.registry,
        )

        self.unreplicated_commits = Counter(
            "ensemble_redis_unreplicated_commits",
            "Commits published and acknowledged although no replica confirmed them "
            "within ENSEMBLE_REDIS_WAIT_MS",
            registry=self.registry,
        )

        self._requests_of: dict[str, Counter] = {}

    def request(self, type_: str) -> None:
        """Count one request of a type (its labelled child found once, not per request)."""
        counter = self._requests_of.get(type_)
        if counter is None:
            counter = self._requests_of[type_] = self.requests.labels(type_)
        counter.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
