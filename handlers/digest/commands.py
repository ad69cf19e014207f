"""`/digest`: see (settings + preview), pause, resume, `time HH:MM`, `days mon-fri`, `now`.

Every answer is ephemeral: digest settings and previews are the employee's own business.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from handlers import payloads
from handlers.blockkit import context, divider, escape, section
from handlers.context import Clock, ListenerSettings, Requester, SessionFactory
from handlers.digest.blocks import employee_digest_message
from handlers.i18n import t
from store.clock import local_day, to_local
from handlers.i18n.formats import format_weekdays
from store.digest import compose_employee_digest
from store.digest_runs import employee_zone, last_run, parse_time, parse_weekdays, weekdays_of
from store.models import Employee
from store.vocabulary import DigestStatus

log = logging.getLogger(__name__)

COMMAND = "/digest"
_SEE = {"", "see", "show", "settings", "help", "voir", "aide", "réglages", "reglages", "preview", "aperçu", "apercu"}
_PAUSE = {"pause", "stop", "off", "suspendre", "arrêter", "arreter"}
_RESUME = {"resume", "start", "on", "reprendre", "activer", "relancer"}
_TIME = {"time", "at", "heure", "à", "a"}
_DAYS = {"days", "jours", "on-days"}
_NOW = {"now", "send", "maintenant", "envoyer"}


def settings_text(employee: Employee, locale: str, default_time: str, default_timezone: str) -> str:
    state = t("digest.state_paused" if employee.digest_paused else "digest.state_active", locale)
    return t("digest.settings", locale, state=state, time=employee.digest_time or default_time,
             timezone=employee.timezone or default_timezone,
             days=format_weekdays(weekdays_of(employee.digest_weekdays), locale) or t("digest.no_day", locale))


def overview(session_factory: SessionFactory, employee_id: int, locale: str, settings: ListenerSettings,
             now: dt.datetime) -> dict[str, Any]:
    with session_factory() as session:
        employee = session.get_one(Employee, employee_id)
        tz = employee_zone(employee, settings.default_timezone)
        today = local_day(now, tz)
        blocks = [section(settings_text(employee, locale, settings.digest_default_time, settings.default_timezone))]
        run = last_run(session, employee_id, today)
        if run is not None and run.status == DigestStatus.SENT and run.finished_at:
            sent_at = to_local(run.finished_at, tz)
            blocks.append(context(t("digest.sent_today", locale, time=f"{sent_at:%H:%M}")))
        blocks.append(context(t("digest.help", locale)))
        blocks.append(divider())
        digest = compose_employee_digest(session, employee, today=today, now=now, tz=tz)
    if digest is None:
        blocks.append(context(t("digest.preview_empty", locale)))
    else:
        blocks.append(context(t("digest.preview", locale)))
        blocks.extend(employee_digest_message(digest, locale)["blocks"])
    return {"text": settings_text(employee, locale, settings.digest_default_time, settings.default_timezone),
            "blocks": blocks[:50]}


def change_setting(session_factory: SessionFactory, employee_id: int, locale: str, settings: ListenerSettings,
                   verb: str, argument: str) -> str:
    with session_factory.begin() as session:
        employee = session.get_one(Employee, employee_id)
        if verb in _PAUSE:
            employee.digest_paused = True
            return t("digest.paused", locale)
        if verb in _RESUME:
            employee.digest_paused = False
            return t("digest.resumed", locale, time=employee.digest_time or settings.digest_default_time)
        if verb in _TIME:
            value = parse_time(argument)
            if value is None:
                return t("digest.bad_time", locale, value=escape(argument))
            employee.digest_time = value
            return t("digest.retimed", locale, time=value, timezone=employee.timezone or settings.default_timezone)
        days = parse_weekdays(argument)
        if days is None:
            return t("digest.bad_days", locale, value=escape(argument))
        employee.digest_weekdays = days
        return t("digest.days_set", locale, days=format_weekdays(weekdays_of(days), locale))


def digest_command(ack: Ack, command: dict[str, Any], respond: Respond, employee: Requester,
                   session_factory: SessionFactory, settings: ListenerSettings, clock: Clock,
                   send_digest_now: Callable[[int], list[tuple[str, dict[str, Any] | None]]]) -> None:
    words = (payloads.text(command, "text") or "").strip().split(maxsplit=1)
    verb = words[0].lower() if words else ""
    argument = words[1].strip() if len(words) > 1 else ""
    locale = employee.locale
    if verb in _PAUSE | _RESUME | _TIME | _DAYS:
        ack(text=change_setting(session_factory, employee.id, locale, settings, verb, argument),
            response_type="ephemeral")
        return
    if verb not in _SEE | _NOW:
        ack(text=t("digest.unknown", locale, value=escape(verb)) + "\n" + t("digest.help", locale), response_type="ephemeral")
        return
    ack()
    if verb in _SEE:
        respond(response_type="ephemeral", replace_original=False,
                **overview(session_factory, employee.id, locale, settings, clock()))
        return
    try:
        results = send_digest_now(employee.id)
    except Exception as error:
        log.warning("digest now failed: employee_id=%s error=%s", employee.id, type(error).__name__)
        respond(text=t("digest.send_failed", locale), response_type="ephemeral", replace_original=False)
        return
    sent = any(message is not None for _, message in results)
    respond(text=t("digest.sent_now" if sent else "digest.nothing_now", locale), response_type="ephemeral",
            replace_original=False)


def register(app: App) -> None:
    app.command(COMMAND)(digest_command)
