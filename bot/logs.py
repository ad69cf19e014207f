"""Structured logs (one JSON object per line) that never carry customer PII.

Code logs ids, never names, emails, phones or notes. As a second line of defence, anything that
looks like an email address or a phone number is masked before a line is written, so a mistake in
a log call or a library's error message cannot leak a customer's contact details.
"""
from __future__ import annotations

import json
import logging
import re
import sys

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w/])\+?\d[\d .\-()]{7,}\d(?![\w/])")
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _mask_phone(match: re.Match) -> str:
    # Phone numbers have at least nine digits; dates and times (2026-11-26) have fewer and stay.
    return "[phone]" if sum(c.isdigit() for c in match.group()) >= 9 else match.group()


def scrub(text: str) -> str:
    return _PHONE.sub(_mask_phone, _EMAIL.sub("[email]", text))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        # Structured fields passed with `extra={...}` (ids, counts, durations).
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["error"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.formatter.converter = __import__("time").gmtime
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("alembic", "urllib3", "apscheduler.executors.default"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # At DEBUG, Slack's libraries log whole request and response bodies: customer data. Never below INFO.
    for slack_logger in ("slack_sdk", "slack_bolt"):
        logging.getLogger(slack_logger).setLevel(max(logging.INFO, logging.getLevelName(level)))
