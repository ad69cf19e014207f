"""Block Kit for the employee and team digests (pure functions: digest in, message payload out)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from handlers.blockkit import context, escape, fit_message, header, section, truncate, trusted
from handlers.i18n import t
from handlers.i18n.formats import format_date
from handlers.kpi.blocks import kpi_fields
from store.digest import EmployeeDigest, FollowUpLine, TeamDigest
from store.kpi import KpiFigures

NOTE_PREVIEW = 60


def _weekday_date(value: dt.date, locale: str) -> str:
    days = {"en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
            "fr": ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]}
    return f"{days.get(locale, days['en'])[value.weekday()]} {format_date(value, locale)}"


def _customer(name: str | None, customer_id: int | None, locale: str) -> str:
    if customer_id is None:
        return t("digest.no_customer", locale)
    return f"*{escape(name)}*" if name else t("digest.erased_customer", locale)


def _follow_up_line(line: FollowUpLine, locale: str) -> str:
    text = f"• {_customer(line.customer_name, line.customer_id, locale)} · {t('digest.due_on', locale, date=format_date(line.due_date, locale))}"
    if line.note:
        text += f" · _{escape(truncate(line.note.replace(chr(10), ' '), NOTE_PREVIEW))}_"
    return text


def _list_section(title: str, lines: list[str], total: int, locale: str) -> dict[str, Any]:
    body = trusted("\n".join([title, *lines]))  # lines are composed of escaped parts (_customer, escape, t)
    if total > len(lines):
        body += "\n" + t("digest.more", locale, count=total - len(lines))
    return section(body)


def employee_digest_message(digest: EmployeeDigest, locale: str) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [header(t("digest.header", locale, date=_weekday_date(digest.local_date, locale)))]
    if digest.overdue:
        blocks.append(_list_section(t("digest.overdue", locale, count=digest.overdue_total),
                                    [_follow_up_line(line, locale) for line in digest.overdue], digest.overdue_total, locale))
    if digest.due_today:
        blocks.append(_list_section(t("digest.due_today", locale, count=digest.due_today_total),
                                    [_follow_up_line(line, locale) for line in digest.due_today], digest.due_today_total, locale))
    if digest.callbacks:
        lines = [f"• {_customer(c.customer_name, c.customer_id, locale)} · "
                 f"{t('digest.callback_line', locale, date=format_date(c.promised_on, locale), channel=escape(c.channel))}"
                 for c in digest.callbacks]
        blocks.append(_list_section(t("digest.callbacks", locale), lines, len(lines), locale))
    if digest.vip_issues:
        lines = [f"• {_customer(v.customer_name, v.customer_id, locale)} · "
                 f"{t('digest.vip_line', locale, tier=escape(v.tier), assignee=escape(v.assignee_name), date=format_date(v.due_date, locale))}"
                 for v in digest.vip_issues]
        blocks.append(_list_section(t("digest.vip", locale), lines, len(lines), locale))
    y = digest.yesterday
    blocks.append(context(t("digest.yesterday", locale, interactions=y.interactions, customers=y.customers,
                            done=y.followups_done), t("digest.footer", locale)))
    text = t("digest.fallback", locale, overdue=digest.overdue_total, due=digest.due_today_total,
             callbacks=len(digest.callbacks))
    return {"text": text, "blocks": fit_message(blocks)}


TEAM_DIGEST_FIGURES = ("interactions", "customers", "fcr_rate", "followups_completed", "followups_overdue",
                       "median_completion_hours")


def figures_fields(current: KpiFigures, previous: KpiFigures, locale: str) -> list[dict[str, Any]]:
    """The managers' digest shows these figures of a period, as /kpi does."""
    return kpi_fields(current, previous, locale, only=TEAM_DIGEST_FIGURES)


def team_digest_message(digest: TeamDigest, locale: str) -> dict[str, Any]:
    week = digest.week
    blocks: list[dict[str, Any]] = [
        header(t("digest.team_header", locale, team=digest.team_name, date=_weekday_date(digest.local_date, locale))),
        section(t("digest.team_yesterday", locale), fields=figures_fields(digest.yesterday, digest.day_before, locale)),
        section(t("digest.team_week", locale, start=format_date(week.start, locale),
                  end=format_date(week.end - dt.timedelta(days=1), locale)),
                fields=figures_fields(digest.week_figures, digest.previous_week_figures, locale)),
    ]
    if digest.overdue_by_person:
        lines = [f"• {escape(p.name)}: "
                 f"{t('digest.team_overdue_line', locale, count=p.count, date=format_date(p.oldest_due, locale))}"
                 for p in digest.overdue_by_person]
        blocks.append(section(trusted("\n".join([t("digest.team_overdue", locale), *lines]))))
    else:
        blocks.append(context(t("digest.team_none_overdue", locale)))
    if digest.waiting_longest:
        lines = [f"• {_customer(w.customer_name, w.customer_id, locale)} · "
                 f"{t('digest.team_waiting_line', locale, date=format_date(w.waiting_since, locale), assignee=escape(w.assignee_name))}"
                 for w in digest.waiting_longest]
        blocks.append(section(trusted("\n".join([t("digest.team_waiting", locale), *lines]))))
    blocks.append(context(t("digest.footer", locale)))
    text = t("digest.team_fallback", locale, team=digest.team_name, interactions=digest.yesterday.interactions,
             overdue=sum(p.count for p in digest.overdue_by_person))
    return {"text": text, "blocks": fit_message(blocks)}
