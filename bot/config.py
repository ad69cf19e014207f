"""Settings, read once from the environment (and an optional .env file).

One frozen object is built at start-up and passed to whatever needs it; nothing imports a global.
Every problem is reported as one line naming the variable, because that is what an operator fixes.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv

DEFAULT_DATABASE_URL = "sqlite:///frontline.db"
SUPPORTED_LOCALES = ("en", "fr")


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    # Web API base URL override (slack_sdk base_url), e.g. a local Slack-compatible server.
    slack_api_url: str | None = None
    default_timezone: str = "Europe/Paris"
    default_locale: str = "fr"
    # Named in the refusal an unregistered user gets: who grants access.
    access_contact: str = "your store manager"
    # Identity resolution thresholds (see README, "Identity resolution").
    match_merge_threshold: float | None = None
    match_review_threshold: float | None = None
    match_best_candidate: float | None = None
    # Interaction notes older than this are purged by the retention job (0 = keep forever).
    note_retention_days: int = 730
    # Channels where an admin allows sharing a reduced customer card (Slack channel ids).
    share_channels: frozenset[str] = field(default_factory=frozenset)
    digest_default_time: str = "08:30"
    log_level: str = "INFO"
    # The mapping file of `frontline employees sync` and the directory events (README, "Slack's directory").
    directory_mapping: str | None = None
    # Live data (README, "Live data"): inbox worker threads per serving process, and the pending backlog
    # above which senders are asked to retry later (429).
    ingest_workers: int = 1
    inbox_bound: int = 100_000
    # A website basket untouched this long (and not ordered) is shown as abandoned (bot/live_jobs.py).
    basket_abandoned_minutes: int = 60
    # Inbox events applied longer ago than this are deleted by the nightly retention job (0 = keep forever).
    # Their duplicate keys go with them, so it must outlast the senders' retries: Shopify's last retry
    # comes within 48 hours, hence at least 2 days.
    inbox_retention_days: int = 7
    # `/customer` answers in its ack (one HTTP exchange, no post to the response_url) when the answer is
    # ready this many seconds after the request arrived; later, it acks "looking for…" and posts the answer
    # when done. Slack wants the ack within 3 s. Short on purpose: while it waits, the request holds one
    # of gunicorn's threads, and time a request spends queued for a thread before the app sees it is
    # invisible here; a healthy lookup takes tens of milliseconds.
    answer_in_ack_seconds: float = 0.5

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        if environ is None:
            if dotenv:
                _load_dotenv()
            environ = os.environ
        env = {k: v.strip() for k, v in environ.items() if v is not None and v.strip() != ""}

        def number(name: str, default: float | None, cast=float):
            if name not in env:
                return default
            try:
                return cast(env[name])
            except ValueError:
                raise ConfigError(f"{name} must be a number, got {env[name]!r}") from None

        settings = cls(
            database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            slack_bot_token=env.get("SLACK_BOT_TOKEN"),
            slack_app_token=env.get("SLACK_APP_TOKEN"),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET"),
            slack_api_url=env.get("SLACK_API_URL"),
            default_timezone=env.get("FRONTLINE_TIMEZONE", "Europe/Paris"),
            default_locale=env.get("FRONTLINE_LOCALE", "fr"),
            access_contact=env.get("FRONTLINE_ACCESS_CONTACT", "your store manager"),
            match_merge_threshold=number("FRONTLINE_MATCH_MERGE", None),
            match_review_threshold=number("FRONTLINE_MATCH_REVIEW", None),
            match_best_candidate=number("FRONTLINE_MATCH_BEST_CANDIDATE", None),
            note_retention_days=int(number("FRONTLINE_NOTE_RETENTION_DAYS", 730, int)),
            share_channels=frozenset(
                c.strip() for c in env.get("FRONTLINE_SHARE_CHANNELS", "").split(",") if c.strip()
            ),
            digest_default_time=env.get("FRONTLINE_DIGEST_TIME", "08:30"),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            directory_mapping=env.get("FRONTLINE_DIRECTORY_MAPPING"),
            ingest_workers=int(number("FRONTLINE_INGEST_WORKERS", 1, int)),
            inbox_bound=int(number("FRONTLINE_INBOX_MAX", 100_000, int)),
            basket_abandoned_minutes=int(number("FRONTLINE_BASKET_ABANDONED_MINUTES", 60, int)),
            inbox_retention_days=int(number("FRONTLINE_INBOX_RETENTION_DAYS", 7, int)),
            answer_in_ack_seconds=float(number("FRONTLINE_ANSWER_IN_ACK_SECONDS", 0.5)),
        )
        settings.validate()
        return settings

    def with_overrides(self, **changes) -> Settings:
        updated = replace(self, **changes)
        updated.validate()
        return updated

    def validate(self) -> None:
        if "://" not in self.database_url:
            raise ConfigError(f"DATABASE_URL is not a database URL: {self.database_url.split('@')[-1]!r}")
        try:
            ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"FRONTLINE_TIMEZONE is not a known time zone: {self.default_timezone!r}") from None
        if self.default_locale not in SUPPORTED_LOCALES:
            raise ConfigError(f"FRONTLINE_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}")
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", self.digest_default_time):
            raise ConfigError("FRONTLINE_DIGEST_TIME must be HH:MM (24h), e.g. 08:30")
        if self.slack_api_url and not self.slack_api_url.startswith(("http://", "https://")):
            raise ConfigError("SLACK_API_URL must start with http:// or https://")
        if self.note_retention_days < 0:
            raise ConfigError("FRONTLINE_NOTE_RETENTION_DAYS must be 0 (keep) or a positive number of days")
        if not 0 <= self.ingest_workers <= 64:
            raise ConfigError("FRONTLINE_INGEST_WORKERS must be from 0 (apply in other processes) to 64")
        if self.inbox_bound < 1:
            raise ConfigError("FRONTLINE_INBOX_MAX must be a positive number of events")
        if not 1 <= self.basket_abandoned_minutes <= 60 * 24 * 30:
            raise ConfigError("FRONTLINE_BASKET_ABANDONED_MINUTES must be from 1 to 43200 (30 days)")
        if self.inbox_retention_days != 0 and not 2 <= self.inbox_retention_days <= 3650:
            raise ConfigError("FRONTLINE_INBOX_RETENTION_DAYS must be 0 (keep) or from 2 to 3650 days "
                              "(longer than the senders retry)")

        if not 0 <= self.answer_in_ack_seconds <= 2.5:
            raise ConfigError("FRONTLINE_ANSWER_IN_ACK_SECONDS must be from 0 (always ack first) to 2.5 seconds "
                              "(Slack wants the ack within 3)")

    def require_slack(self, *, socket_mode: bool) -> None:
        """Fail start-up with one line when a Slack credential needed to serve is missing or malformed."""
        if not self.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-...)")
        if not self.slack_bot_token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
        if socket_mode:
            if not self.slack_app_token:
                raise ConfigError("SLACK_APP_TOKEN is not set (app-level token xapp-..., needed for Socket Mode)")
            if not self.slack_app_token.startswith("xapp-"):
                raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
        elif not self.slack_signing_secret:
            raise ConfigError("SLACK_SIGNING_SECRET is not set (needed to check Slack's request signatures)")


def _load_dotenv() -> None:
    env_file = Path(".env")
    if env_file.is_file():
        load_dotenv(env_file, override=False)
