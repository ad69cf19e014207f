"""Block Kit for `/kpi`: each figure with its change, an optional grouped table, definitions."""
from __future__ import annotations

import datetime as dt
from typing import Any

from handlers.blockkit import context, escape, header, section, truncate
from handlers.i18n import t
from handlers.i18n.formats import format_date
from handlers.kpi.format import change, hours, number, percent
from store.kpi import KpiFigures, KpiReport
from store.kpi_query import Period

MAX_GROUP_ROWS = 25


def period_label(period: Period, locale: str) -> str:
    last = period.end - dt.timedelta(days=1)
    if period.kind in ("today", "week", "month") and last >= period.start:
        if period.days == 1:
            return format_date(period.start, locale)
        return f"{t('kpi.period.' + period.kind, locale)} ({format_date(period.start, locale)} – {format_date(last, locale)})"
    if period.days == 1:
        return format_date(period.start, locale)
    return f"{format_date(period.start, locale)} – {format_date(last, locale)}"


def scope_label(report: KpiReport, locale: str) -> str:
    if report.scope.kind in ("me", "all"):
        return t(f"kpi.scope.{report.scope.kind}", locale)
    return report.scope.label


def kpi_fields(current: KpiFigures, previous: KpiFigures, locale: str) -> list[dict[str, Any]]:
    def field(key: str, value: str, delta: str) -> dict[str, Any]:
        return {"type": "mrkdwn", "text": f"{t(key, locale)}\n*{value}*  {delta}"}

    c, p = current, previous
    return [
        field("kpi.label.interactions", number(c.interactions, locale), change(c.interactions, p.interactions, locale)),
        field("kpi.label.customers", number(c.customers, locale), change(c.customers, p.customers, locale)),
        field("kpi.label.fcr", percent(c.fcr_rate, locale), change(c.fcr_rate, p.fcr_rate, locale, rate=True)),
        field("kpi.label.repeat", number(c.repeat_contacts, locale), change(c.repeat_contacts, p.repeat_contacts, locale)),
        field("kpi.label.purchases", number(c.purchases_within_7d, locale),
              change(c.purchases_within_7d, p.purchases_within_7d, locale)),
        field("kpi.label.followups_created", number(c.followups_created, locale),
              change(c.followups_created, p.followups_created, locale)),
        field("kpi.label.followups_completed", number(c.followups_completed, locale),
              change(c.followups_completed, p.followups_completed, locale)),
        field("kpi.label.followups_overdue", number(c.followups_overdue, locale),
              change(c.followups_overdue, p.followups_overdue, locale)),
        field("kpi.label.median_completion", hours(c.median_completion_hours, locale),
              change(c.median_completion_hours, p.median_completion_hours, locale)),
    ]


def group_table(report: KpiReport, locale: str) -> str:
    rows = report.groups[:MAX_GROUP_ROWS]
    width = min(24, max((len(r.key) for r in rows), default=4))
    lines = [f"{'':{width}}  {'#':>6}  {'👤':>5}  {'FCR':>5}"]
    for row in rows:
        name = truncate(row.key, width)
        f = row.figures
        lines.append(f"{name:{width}}  {number(f.interactions, locale):>6}  {number(f.customers, locale):>5}  "
                     f"{percent(f.fcr_rate, locale):>5}")
    if len(report.groups) > len(rows):
        lines.append(t("digest.more", locale, count=len(report.groups) - len(rows)))
    # Names are employee names, channels or dates; escaped all the same so nothing in them can ping.
    return "```" + escape("\n".join(lines)) + "```"


def kpi_message(report: KpiReport, locale: str, *, chart_sent: bool) -> dict[str, Any]:
    scope = scope_label(report, locale)
    title = t("kpi.header", locale, scope=scope, period=period_label(report.period, locale))
    previous = report.period.previous
    blocks: list[dict[str, Any]] = [
        header(title),
        section(t("kpi.compared", locale, start=format_date(previous.start, locale),
                  end=format_date(previous.end - dt.timedelta(days=1), locale)),
                fields=kpi_fields(report.current, report.previous, locale)),
    ]
    if report.group_by:
        blocks.append(section(t("kpi.group_header", locale, group=t(f"kpi.group.{report.group_by}", locale))
                              + " · " + t("kpi.group_columns", locale) + "\n" + group_table(report, locale)))
    notes = [t("kpi.definitions", locale)]
    if chart_sent:
        notes.append(t("kpi.chart_sent", locale))
    blocks.append(context(*notes))
    text = f"{title}: {number(report.current.interactions, locale)} " + t("kpi.label.interactions", locale).lower()
    return {"text": text, "blocks": blocks}
