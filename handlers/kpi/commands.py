"""`/kpi`: figures for me, my team, a colleague or a store, over a period, with a trend chart.

Replies are ephemeral. The chart goes to the requester's DM with the bot, never to the channel the
command was typed in: it holds no customer data, but team performance is not for every channel
member to see (a manager typing /kpi in #store-floor must not publish it to the floor).
"""
from __future__ import annotations

import logging
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from handlers import payloads
from handlers.blockkit import unescape
from handlers.i18n import t
from handlers.kpi.blocks import kpi_message, scope_label
from store.clock import Clock, local_day
from store.db import SessionFactory
from store import kpi
from store.kpi import KpiReport, Viewer, kpi_report
from store.kpi_query import KpiQueryError, parse_kpi_query

log = logging.getLogger(__name__)

COMMAND = "/kpi"


class Asker(Viewer, Protocol):
    """The employee the access middleware puts in the context (bot.access.EmployeeSnapshot)."""

    slack_user_id: str
    locale: str


def kpi_command(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient, employee: Asker,
                session_factory: SessionFactory, clock: Clock) -> None:
    text = (payloads.text(command, "text") or "").strip()
    locale = employee.locale
    if text.lower() in ("help", "aide", "?"):
        ack(text=t("kpi.help", locale), response_type="ephemeral")
        return
    now = clock()
    today = local_day(now, ZoneInfo(employee.timezone))
    try:
        query = parse_kpi_query(text, today=today)
    except KpiQueryError as error:
        # The parameters echo what was typed: t() escapes them.
        ack(text=t(error.key, locale, **error.params) + "\n" + t("kpi.help", locale), response_type="ephemeral")
        return
    ack()
    try:
        with session_factory() as session:
            report = kpi_report(session, employee, query, now=now)
    except SQLAlchemyError as error:  # unreachable or locked: say so, as the other commands do
        log.warning("kpi report failed: employee_id=%s error=%s", employee.id, type(error).__name__)
        respond(text=t("common.db_unavailable", locale), response_type="ephemeral", replace_original=False)
        return
    chart_sent = bool(report.trend) and send_chart(client, employee, report, locale)
    respond(response_type="ephemeral", replace_original=False, **kpi_message(report, locale, chart_sent=chart_sent))


def send_chart(client: WebClient, employee: Asker, report: KpiReport, locale: str) -> bool:
    from handlers.kpi.chart import trend_png  # matplotlib loads only when a chart is drawn

    title = t("kpi.chart_title", locale, scope=scope_label(report, locale))
    try:
        png = trend_png(report.trend, title=unescape(title), locale=locale)  # drawn, not sent as text
        channel = client.conversations_open(users=employee.slack_user_id)["channel"]["id"]
        client.files_upload_v2(channel=channel, file=png, filename="kpi-trend.png", title=title)
        return True
    except Exception as error:
        log.warning("kpi chart upload failed: employee_id=%s error=%s", employee.id, type(error).__name__)
        return False


def warm_up(session_factory: SessionFactory, clock: Clock, timezone: str) -> None:
    """At start-up, before the first /kpi: its statements compiled (store.kpi.warm_up), so the first
    person asking does not wait for that. A database that cannot answer yet only costs the warm-up."""
    try:
        with session_factory() as session:
            kpi.warm_up(session, timezone, now=clock())
    except SQLAlchemyError as error:
        log.warning("kpi warm-up skipped: error=%s", type(error).__name__)


def register(app: App) -> None:
    app.command(COMMAND)(kpi_command)
