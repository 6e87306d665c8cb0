"""Prometheus metrics of one app, in a registry of its own so several apps can share a process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60)


class Metrics:
    """Everything ``GET /metrics`` exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "specialist_requests",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "specialist_ask_seconds",
            "Latency of /ask by stage: retrieve, generate, total (total includes queueing).",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.first_token_seconds = Histogram(
            "specialist_time_to_first_token_seconds",
            "From request arrival to the first streamed answer piece.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "specialist_tokens_generated",
            "Answer tokens generated, counted as they are made (also for answers whose client left).",
            registry=self.registry,
        )
        self.index_chunks = Gauge(
            "specialist_index_chunks", "Chunks in the index being served.", registry=self.registry
        )
        self.active_adapter = Gauge(
            "specialist_active_adapter",
            "1 for the adapter version being served ('none' for the bare base model).",
            ["version", "base_model"],
            registry=self.registry,
        )
        self.in_system = Gauge(
            "specialist_generation_in_system",
            "Answers being generated or waiting for a worker.",
            registry=self.registry,
        )

    def observe_ask(self, retrieve_ms: float, generate_ms: float, total_ms: float) -> None:
        """Record the stage latencies of one finished answer."""
        self.stage_seconds.labels("retrieve").observe(retrieve_ms / 1000)
        self.stage_seconds.labels("generate").observe(generate_ms / 1000)
        self.stage_seconds.labels("total").observe(total_ms / 1000)

    def serving(self, chunks: int | None, adapter: str | None, base_model: str | None) -> None:
        """Reflect what is being served after a start-up or a swap."""
        if chunks is not None:
            self.index_chunks.set(chunks)
        if base_model is not None:
            self.active_adapter.clear()
            self.active_adapter.labels(adapter or "none", base_model).set(1)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
