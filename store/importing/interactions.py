"""Importing past interactions (from a CRM or call-center tool), with their follow-up when they have one.

An interaction is identified by its source + external_id (stored as Interaction.source_ref); its
follow-up shares that key in FollowUp. The employee must already exist (`frontline employees import`):
KPIs and digests are per employee, so history cannot be attached to nobody.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from store import kpi_rollup
from store.db import table_of
from store.importing.bulk import bulk_update
from store.importing.children import PersonKey, PlainRow, Ready, Values, person_key, rows_of, run_batches
from store.importing.fields import RowRejected, choice, date_value, datetime_value, required_text, text
from store.importing.readers import Row
from store.importing.report import ImportReport
from store.models import (
    FOLLOW_UP_STATUSES,
    INTERACTION_CHANNELS,
    INTERACTION_OUTCOMES,
    INTERACTION_TYPES,
    Employee,
    FollowUp,
    Interaction,
)
from store.vocabulary import FollowUpStatus

SourceKey = tuple[str, str]  # source, source_ref: an interaction and its follow-up share it
NOTE_MAX = 4000
_INTERACTION_COLUMNS = ("id", "source", "source_ref", "customer_id", "employee_id", "store_id", "team_id",
                        "channel", "type", "outcome", "note", "created_at")
_FOLLOW_UP_COLUMNS = ("id", "source", "source_ref", "interaction_id", "customer_id", "assignee_id",
                      "created_by_id", "due_date", "note", "status", "created_at", "completed_at")


def _parse(row: Row, default_source: str | None) -> tuple[PersonKey, Values]:
    key = person_key(row, default_source)
    values: dict[str, Any] = {
        "source": key[0],
        "source_ref": required_text(row, "external_id", 128),
        "employee": required_text(row, "employee_slack_id", 32),
        "channel": choice(row, "channel", INTERACTION_CHANNELS),
        "type": choice(row, "type", INTERACTION_TYPES),
        "outcome": choice(row, "outcome", INTERACTION_OUTCOMES),
        "note": text(row, "note", NOTE_MAX),
        "created_at": datetime_value(row, "created_at", required=True),
        "follow_up": None,
    }
    due = date_value(row, "follow_up_due")
    completed_at = datetime_value(row, "follow_up_completed_at")
    if due is not None:
        status = choice(row, "follow_up_status", FOLLOW_UP_STATUSES, default=FollowUpStatus.OPEN)
        _check_completion(status, completed_at, values["created_at"])
        values["follow_up"] = {
            "due_date": due,
            "assignee": text(row, "follow_up_assignee", 32) or values["employee"],
            "status": status,
            "note": text(row, "follow_up_note", NOTE_MAX),
            "completed_at": completed_at,
        }
    elif text(row, "follow_up_assignee", 32) or text(row, "follow_up_status", 16) or completed_at is not None:
        raise RowRejected("follow_up_due is needed when follow_up_assignee, follow_up_status or "
                          "follow_up_completed_at is set")
    return key, values


def _check_completion(status: str, completed_at: dt.datetime | None, created_at: dt.datetime) -> None:
    # KPIs count a done follow-up on its completion day and time it from created_at: without the
    # time it would silently never count, and a time on a follow-up not done would count a non-event.
    if status == FollowUpStatus.DONE and completed_at is None:
        raise RowRejected("follow_up_completed_at is needed when follow_up_status is done: "
                          "KPIs count a completion on that date")
    if status != FollowUpStatus.DONE and completed_at is not None:
        raise RowRejected(f"follow_up_completed_at is only for a done follow-up (follow_up_status is {status})")
    if completed_at is not None and completed_at < created_at:
        raise RowRejected("follow_up_completed_at is earlier than created_at")


def _write(session: Session, ready: Ready, report: ImportReport) -> None:
    slack_ids = {values["employee"] for _, _, values in ready}
    slack_ids |= {values["follow_up"]["assignee"] for _, _, values in ready if values["follow_up"]}
    employees = {
        e.slack_user_id: e
        for e in rows_of(session, Employee, ("id", "slack_user_id", "store_id", "team_id"),
                         Employee.slack_user_id.in_(slack_ids))
    }
    wanted: dict[SourceKey, tuple[Values, Values | None]] = {}
    for line, person, values in ready:
        try:
            employee = _employee(employees, values["employee"])
            follow_up = values["follow_up"]
            assignee = _employee(employees, follow_up["assignee"]) if follow_up else None
        except RowRejected as problem:
            report.reject(line, str(problem))
            continue
        key = (values["source"], values["source_ref"])
        if key in wanted:
            report.superseded += 1
        interaction = {
            "source": key[0], "source_ref": key[1], "customer_id": person.customer_id,
            "employee_id": employee.id, "store_id": employee.store_id, "team_id": employee.team_id,
            "channel": values["channel"], "type": values["type"], "outcome": values["outcome"],
            "note": values["note"], "created_at": values["created_at"],
        }
        task = None
        if follow_up and assignee is not None:
            task = {
                "source": key[0], "source_ref": key[1], "customer_id": person.customer_id,
                "assignee_id": assignee.id, "created_by_id": employee.id, "due_date": follow_up["due_date"],
                "note": follow_up["note"], "status": follow_up["status"], "created_at": values["created_at"],
                "completed_at": follow_up["completed_at"],
            }
        wanted[key] = (interaction, task)
    if wanted:
        _store(session, wanted, report)


def _employee(employees: dict[str, PlainRow], slack_id: str) -> PlainRow:
    if slack_id not in employees:
        raise RowRejected(f"unknown employee {slack_id} (import employees first)")
    return employees[slack_id]


def _existing(
    session: Session, model: type[Interaction | FollowUp], columns: Iterable[str], keys: Iterable[SourceKey]
) -> dict[SourceKey, PlainRow]:
    by_source: dict[str, set[str]] = defaultdict(set)
    for source, ref in keys:
        by_source[source].add(ref)
    found: dict[SourceKey, PlainRow] = {}
    for source, refs in by_source.items():
        for row in rows_of(session, model, columns, model.source == source, model.source_ref.in_(refs)):
            found[(row.source, row.source_ref)] = row
    return found


def _store(session: Session, wanted: dict[SourceKey, tuple[Values, Values | None]], report: ImportReport) -> None:
    interactions = _existing(session, Interaction, _INTERACTION_COLUMNS, wanted)
    follow_ups = _existing(session, FollowUp, _FOLLOW_UP_COLUMNS, wanted)
    new_interactions: list[Values] = []
    changed_interactions: list[Values] = []
    new_tasks: list[Values] = []
    changed_tasks: list[Values] = []
    for key, (interaction, task) in wanted.items():
        current = interactions.get(key)
        changed = False
        if current is None:
            new_interactions.append(interaction)
        elif any(getattr(current, name) != value for name, value in interaction.items()):
            changed_interactions.append({**interaction, "id": current.id})
            changed = True
        if task is not None:
            current_task = follow_ups.get(key)
            if current_task is None:
                new_tasks.append(task)
                changed = changed or current is not None
            elif any(getattr(current_task, name) != value for name, value in task.items()):
                changed_tasks.append({**task, "id": current_task.id, "interaction_id": current_task.interaction_id})
                changed = True
        if current is not None:
            if changed:
                report.updated += 1
            else:
                report.unchanged += 1
    ids = {key: row.id for key, row in interactions.items()}
    if new_interactions:
        table = table_of(Interaction)
        created = session.execute(
            table.insert().returning(table.c.id, table.c.source, table.c.source_ref, sort_by_parameter_order=True),
            new_interactions,
        )
        for interaction_id, source, ref in created:
            ids[(source, ref)] = interaction_id
        report.created += len(new_interactions)
    bulk_update(session, Interaction, changed_interactions)
    moved_from = [interactions[(row["source"], row["source_ref"])].customer_id for row in changed_interactions]
    kpi_rollup.refresh(session, customer_ids=moved_from,
                       interaction_ids=[ids[(row["source"], row["source_ref"])] for row in new_interactions]
                       + [row["id"] for row in changed_interactions])
    task_ids = [task["id"] for task in changed_tasks]
    if new_tasks:
        table = table_of(FollowUp)
        task_ids += session.scalars(
            table.insert().returning(table.c.id, sort_by_parameter_order=True),
            [{**task, "interaction_id": ids[(task["source"], task["source_ref"])]} for task in new_tasks],
        ).all()
    bulk_update(session, FollowUp, changed_tasks)
    kpi_rollup.refresh_follow_ups(session, task_ids)


def import_interactions(
    session: Session, *, rows: Iterable[tuple[int, Row]], batch_size: int = 5000, default_source: str | None = None
) -> ImportReport:
    """Past interactions and their follow-ups; key: source + external_id."""
    return run_batches(session, rows, kind="interactions", parse=_parse, write=_write,
                       default_source=default_source, batch_size=batch_size)
