"""/healthz tells the truth when reads work but writes fail: another process holding SQLite's write
lock, or a PostgreSQL table locked against writers (a migration, a `LOCK TABLE`). Real locks, held by
a real second connection; the bot's own requests fail meanwhile, and /healthz says so."""
from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import urllib.error
import urllib.request

import psycopg
from sqlalchemy.engine import make_url

import bot.web
from bot.web import FrontlineWeb
from store.health import write_problem


@contextlib.contextmanager
def writes_locked_by_another_process(db_url: str):
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database, isolation_level=None, timeout=0)
        holder.execute("BEGIN IMMEDIATE")  # SQLite's single write lock; readers still read
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as holder:
        # SHARE mode: everyone may read, nobody may insert or update (what CREATE INDEX takes).
        holder.execute("LOCK TABLE audit_events IN SHARE MODE")
        try:
            yield
        finally:
            holder.rollback()


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_healthz_is_degraded_while_writes_fail_and_healthy_again_after(bot_server, db_url):
    # Probe on every call here, so the test sees each change at once; served, it probes every 2 s at most.
    web = FrontlineWeb(bot_server.app, bot_server.engine, write_probe_every=0)
    assert web.health() == (200, {"database": "ok"})
    with writes_locked_by_another_process(db_url):
        assert web.health() == (503, {"database": "writes failing: locked"})
    assert web.health() == (200, {"database": "ok"})


def test_a_healthz_flood_probes_the_database_at_most_every_two_seconds(bot_server, monkeypatch):
    probes = []

    def counted(engine, **kwargs):
        probes.append(1)
        return write_problem(engine, **kwargs)

    monkeypatch.setattr(bot.web, "write_problem", counted)
    started = time.monotonic()
    answers = [_get(bot_server.url + "/healthz") for _ in range(200)]
    elapsed = time.monotonic() - started
    assert all(answer == (200, {"database": "ok"}) for answer in answers)
    assert 1 <= len(probes) <= 1 + elapsed / 2
