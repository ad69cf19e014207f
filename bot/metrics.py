"""Prometheus metrics, served at GET /metrics.

Define new metrics here or in your feature module with prometheus_client as usual (default registry).
Under `frontline serve --http` several gunicorn workers count separately; serve sets
PROMETHEUS_MULTIPROC_DIR before forking and /metrics adds the workers up. Give metrics labels (children are
created lazily, after the fork) or create them in code that runs inside the worker.
"""
from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

SLACK_REQUESTS = Counter(
    "frontline_slack_requests_total", "Requests received from Slack, by kind and HTTP status", ["kind", "status"]
)
SLACK_LATENCY = Histogram(
    "frontline_slack_ack_seconds", "Time from receiving a Slack request to sending its HTTP response", ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
)
SLACK_REFUSED = Counter(
    "frontline_slack_refused_total", "Requests to /slack/events refused before reaching bolt, by reason "
    "(missing signature, stale timestamp, bad signature, too large...)", ["reason"]
)
SLACK_ERRORS = Counter(
    "frontline_errors_total", "Failures: Slack requests answered 5xx, listener exceptions", ["where"]
)


def render_metrics() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST

# Live data (bot/ingest_web.py, bot/ingest.py). Labels come from closed sets.
INGEST_EVENTS = Counter(
    "frontline_ingest_events_total", "Events received on the live-data endpoints, by source kind and what "
    "became of them (stored, duplicate, refused)", ["kind", "outcome"]
)
INGEST_REFUSED = Counter(
    "frontline_ingest_refused_total", "Requests to the live-data endpoints refused, by source kind and reason",
    ["kind", "reason"]
)
INGEST_APPLIED = Counter(
    "frontline_inbox_events_total", "Inbox events handled by the workers, by final state", ["state"]
)
