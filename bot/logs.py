"""Structured logs (one JSON object per line) that never carry customer PII.

Code logs ids, never names, emails, phones, notes or request bodies. As a second line of defence,
every line is cut to a bounded length, URL/form/HTML-encoded text is decoded, and anything that then
looks like an email address or a phone number is masked, so a mistake in a log call or a library's
error message cannot leak a customer's contact details.

The masker runs in time linear in its input (a hostile request must not make logging slow): its two
patterns are a single character class repeated possessively, so the regex engine never backtracks;
each maximal run found is then judged by plain string checks.
"""
from __future__ import annotations

import html
import json
import logging
import re
import sys
import time
from urllib.parse import unquote

# Longest text kept of a message, a field or a traceback; the rest is cut, with its length noted.
MAX_TEXT = 4_000
MAX_TRACEBACK = 16_000
# Masked a little past the cut, so an e-mail or phone straddling it is masked before it is cut in two.
_MASK_MARGIN = 256
_DECODE_ROUNDS = 3  # "%2540" is "%40" encoded again: decode until stable, a few times at most

# Runs of characters an e-mail address is made of ("@" included), and runs starting with a digit or "+"
# that a phone number is made of ("+" included: form encoding turns spaces into "+").
_EMAILISH = re.compile(r"[\w.+@-]++")
_PHONEISH = re.compile(r"[+\d][\d .()+\-]*+")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")

_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _mask_email(match: re.Match) -> str:
    run = match.group()
    local, at, domain = run.partition("@")
    # "<@U0LEA>" (a Slack mention) has nothing before the "@"; anything with text on both sides is masked.
    return "[email]" if at and local.strip(".+-") and domain.strip(".@-") else run


def _mask_phone(match: re.Match) -> str:
    run = match.group()
    start = match.start()
    text = match.string
    # Digits glued to a word or a path ("W250000478", "/2026/11/26") are an id, not a phone number;
    # after a "+" ("name=Jean+0612345678", form-encoded) they are a phone number again.
    if run[0] != "+" and start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_/"):
        return run
    digits = sum(c.isdigit() for c in run)
    # Phone numbers have at least nine digits; dates and times (2026-11-26) have fewer and stay.
    if digits < 9:
        return run
    kept = len(run.rstrip(" .()+-"))
    return "[phone]" + run[kept:]


def decode(text: str) -> str:
    """Percent-encoding (URL and form bodies, repeated) and HTML entities turned back into text."""
    for _ in range(_DECODE_ROUNDS):
        if not _PERCENT.search(text):
            break
        text = unquote(text, errors="replace")
    if "&" in text:
        text = html.unescape(text)
    return text


def scrub(text: str, limit: int = MAX_TEXT) -> str:
    """`text` decoded, cut to `limit` characters and with e-mail addresses and phone numbers masked."""
    cut = len(text) > limit + _MASK_MARGIN
    if cut:
        text = text[:limit + _MASK_MARGIN]
    text = decode(text)
    if "@" in text:
        text = _EMAILISH.sub(_mask_email, text)
    text = _PHONEISH.sub(_mask_phone, text)
    if cut or len(text) > limit:
        text = text[:limit] + " [cut]"
    return text


# Messages of Slack's libraries that quote a request or response: bolt's "Invalid request signature
# detected (... body: ...)", "Unhandled request ({...})", "... without providing a response for the request
# ({...})", "Unsuccessful Bolt execution result (status: 401, body: ...)". Everything from the quote on goes.
_LIBRARY_QUOTE = re.compile(r"body|payload|envelope|message: |\(\{|\{'|\{\"|for the request")
_LIBRARY_LOGGERS = ("slack_bolt", "slack_sdk")
LIBRARY_LINE = 300


class LibraryBodyFilter(logging.Filter):
    """Keeps Slack's libraries from writing request bodies into the logs, whatever handler is attached.

    Installed on the JSON handler (every record reaching it) and on bolt's base logger, which bolt copies
    onto each logger it creates, so a handler added by someone else (a test, gunicorn) is covered too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(_LIBRARY_LOGGERS):
            return True
        message = record.getMessage()
        quote = _LIBRARY_QUOTE.search(message)
        if quote or len(message) > LIBRARY_LINE:
            end = min(quote.start() if quote else LIBRARY_LINE, LIBRARY_LINE)
            record.msg, record.args = message[:end].rstrip(" (:,") + " [request content withheld]", ()
        return True


class JsonFormatter(logging.Formatter):
    converter = staticmethod(time.gmtime)

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
            entry["error"] = scrub(self.formatException(record.exc_info), MAX_TRACEBACK)
        return json.dumps(entry, default=lambda value: scrub(str(value)), ensure_ascii=False)


def configure_logging(level: str = "INFO", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(LibraryBodyFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("alembic", "urllib3", "apscheduler.executors.default"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # At DEBUG, Slack's libraries log whole request and response bodies: customer data. Never below INFO.
    for slack_logger in _LIBRARY_LOGGERS:
        logging.getLogger(slack_logger).setLevel(max(logging.INFO, logging.getLevelName(level)))
