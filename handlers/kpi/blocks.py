"""Block Kit for `/kpi`: each figure with its change, an optional grouped table, definitions."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from handlers.blockkit import context, escape, header, section, truncate
from handlers.i18n import has_key, t
from handlers.i18n.formats import format_date
from handlers.kpi.format import change, hours, number, percent
from store.kpi import KpiFigures, KpiReport
from store.kpi_query import Grouping, Period, PeriodKind, ScopeKind

MAX_GROUP_ROWS = 25


def period_label(period: Period, locale: str) -> str:
    last = period.end - dt.timedelta(days=1)
    if period.kind in (PeriodKind.TODAY, PeriodKind.WEEK, PeriodKind.MONTH) and last >= period.start:
        if period.days == 1:
            return format_date(period.start, locale)
        return f"{t('kpi.period.' + period.kind, locale)} ({format_date(period.start, locale)} – {format_date(last, locale)})"
    if period.days == 1:
        return format_date(period.start, locale)
    return f"{format_date(period.start, locale)} – {format_date(last, locale)}"


def scope_label(report: KpiReport, locale: str) -> str:
    if report.scope.kind in (ScopeKind.ME, ScopeKind.ALL):
        return t(f"kpi.scope.{report.scope.kind}", locale)
    return report.scope.label


# Every figure of a report: (label key, KpiFigures attribute, how it is shown). One list, so /kpi and
# the managers' digest show the same figure the same way.
FIGURES = (
    ("kpi.label.interactions", "interactions", "count"),
    ("kpi.label.customers", "customers", "count"),
    ("kpi.label.fcr", "fcr_rate", "rate"),
    ("kpi.label.repeat", "repeat_contacts", "count"),
    ("kpi.label.purchases", "purchases_within_7d", "count"),
    ("kpi.label.followups_created", "followups_created", "count"),
    ("kpi.label.followups_completed", "followups_completed", "count"),
    ("kpi.label.followups_overdue", "followups_overdue", "count"),
    ("kpi.label.median_completion", "median_completion_hours", "duration"),
)
_SHOW: dict[str, Callable[[float | None, str], str]] = {"count": number, "rate": percent, "duration": hours}


def kpi_fields(current: KpiFigures, previous: KpiFigures, locale: str, *,
               only: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Section fields: each figure (all, or the attributes in `only`) with its change against the previous period."""
    fields = []
    for label, attribute, kind in FIGURES:
        if only is not None and attribute not in only:
            continue
        now, before = getattr(current, attribute), getattr(previous, attribute)
        delta = change(now, before, locale, rate=kind == "rate", duration=kind == "duration")
        fields.append({"type": "mrkdwn", "text": f"{t(label, locale)}\n*{_SHOW[kind](now, locale)}*  {delta}"})
    return fields


def group_label(group_by: Grouping | None, key: str, locale: str) -> str:
    """A group as the reader says it: "En magasin", "Visite", "2 nov. 2026", or the employee's name."""
    if group_by in (Grouping.CHANNEL, Grouping.TYPE) and has_key(f"interactions.{group_by}.{key}"):
        return t(f"interactions.{group_by}.{key}", locale)
    if group_by == Grouping.DAY:
        return format_date(dt.date.fromisoformat(key), locale)
    return key


def group_table(report: KpiReport, locale: str) -> str:
    rows = report.groups[:MAX_GROUP_ROWS]
    if any(r.folded for r in report.groups[MAX_GROUP_ROWS:]):  # the folded row is last: keep it in view
        rows = [*rows[:-1], next(r for r in report.groups if r.folded)]
    labels = [t("kpi.group.others", locale) if r.folded else group_label(report.group_by, r.key, locale)
              for r in rows]
    width = min(24, max((len(label) for label in labels), default=4))
    lines = [f"{'':{width}}  {'#':>6}  {'👤':>5}  {'FCR':>5}"]
    for row, label in zip(rows, labels, strict=True):
        name = truncate(label, width)
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
    if any(r.folded for r in report.groups):
        notes.append(t("kpi.group.others_note", locale))
    if chart_sent:
        notes.append(t("kpi.chart_sent", locale))
    blocks.append(context(*notes))
    text = f"{title}: {number(report.current.interactions, locale)} " + t("kpi.label.interactions", locale).lower()
    return {"text": text, "blocks": blocks}
