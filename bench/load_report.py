"""What a load run found: the exactly-once check in the database, the results table, the README section."""
from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.load_clients import Ledger, Submission
from bench.lookup import percentile

SECTION = "## Load (HTTP)"
INTRO = """\
`bench/load.py` starts the Slack stand-in (localslack/local_slack.py) and the real server (`frontline serve --http`,
gunicorn, N workers) on loopback, then runs simulated employees, one thread each, doing one thing at a time
through signed requests shaped as Slack sends them: `/customer` by e-mail, phone, loyalty card, name with a
typo or surname; logging an interaction from the card's button, from `/log <card>` or from a blank `/log` with
the type-ahead select, then submitting the modal (a fifth with a follow-up). One submission in ten is resent
after its ack as a Slack retry, one in twenty is sent twice at the same moment (double click). Each run
starts with a warm-up that is not measured; the database is bench/lookup.py's generated retailer.

*ack* is the HTTP answer to the signed request; *seen* is what the employee waits for: the ephemeral reply
at the response_url (lookups), views.open reaching Slack (modals), the options (type-ahead), the confirmation
DM (submissions). Errors: any non-200, error reply, modal answered with errors, Block Kit the stand-in
rejects, or nothing within 10 s. Afterwards every submission is counted in the database by its unique note:
exactly one interaction (and follow-up) per accepted submission, none for a refused one.
The machine has 2 cores shared with other work: the load average and CPU seconds are part of each result.
"""


@dataclass(frozen=True)
class OnceCheck:
    submitted: int
    accepted: int
    resent: int
    found_once: int
    missing: int
    duplicated: int
    phantom: int  # refused submissions that still wrote a row
    late: int  # answered after Slack's 3 s (the employee saw a timeout): 0 or 1 row is right
    follow_ups: int
    follow_ups_once: int
    follow_up_problems: int

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.phantom or self.follow_up_problems)


def _counts_by_note(session, model, prefixes: set[str]) -> Counter[str]:
    from sqlalchemy import func, or_, select

    found: Counter[str] = Counter()
    if prefixes:
        rows = session.execute(select(model.note, func.count()).where(
            or_(*(model.note.like(prefix + " %") for prefix in prefixes))).group_by(model.note))
        found.update(dict(rows.all()))  # a mapping: Counter.update adds these counts
    return found


def verify_once(session_factory, submissions: list[Submission]) -> OnceCheck:
    from store.models import FollowUp, Interaction

    prefixes = {" ".join(s.note.split()[:2]) for s in submissions}
    with session_factory() as session:
        interactions = _counts_by_note(session, Interaction, prefixes)
        follow_ups = _counts_by_note(session, FollowUp, prefixes)
    accepted = [s for s in submissions if s.outcome == "accepted"]
    expected_follow_ups = [s for s in accepted if s.follow_up]
    return OnceCheck(
        submitted=len(submissions), accepted=len(accepted), resent=sum(s.copies > 1 for s in submissions),
        found_once=sum(interactions[s.note] == 1 for s in accepted),
        missing=sum(interactions[s.note] == 0 for s in accepted),
        duplicated=sum(interactions[s.note] > 1 for s in submissions),
        phantom=sum(interactions[s.note] > 0 for s in submissions if s.outcome == "refused"),
        late=sum(s.outcome == "unknown" for s in submissions),
        follow_ups=len(expected_follow_ups),
        follow_ups_once=sum(follow_ups[s.note] == 1 for s in expected_follow_ups),
        follow_up_problems=sum(follow_ups[s.note] > interactions[s.note] or follow_ups[s.note] > 1 or (
            s.outcome != "unknown" and follow_ups[s.note] != (1 if s.outcome == "accepted" and s.follow_up else 0))
            for s in submissions),
    )


def _ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p):.0f}" if values else "–"


@dataclass
class Report:
    dialect: str
    customers: int
    employees: int
    workers: int
    threads: int
    mix: str
    think: float
    duration: float
    ledger: Ledger
    once: OnceCheck
    stand_in_failures: dict[str, int]
    validation_failures: int
    unexpected: dict[str, int]
    loads: list[float]
    server_cpu: float
    client_cpu: float
    server_log: Path

    @property
    def errors(self) -> list[str]:
        return [s.error for s in self.ledger.samples if s.error]

    def seen(self, prefix: str = "") -> list[float]:
        return [s.done_ms if s.done_ms is not None else s.ack_ms for s in self.ledger.samples
                if s.step.startswith(prefix) and not s.error and (s.done_ms or s.ack_ms) is not None]

    @property
    def bar(self) -> tuple[str, bool]:
        if self.mix == "lookup":
            p95 = percentile(self.seen("lookup:"), 95) if self.seen("lookup:") else float("inf")
            ok = p95 <= 250 and not self.errors and not self.validation_failures
            return f"`/customer` request → ephemeral reply p95 {p95:.0f} ms (bar ≤ 250 ms), errors {len(self.errors)}", ok
        p99 = percentile(self.seen(), 99) if self.seen() else float("inf")
        ok = p99 < 1000 and not self.errors and not self.validation_failures and self.once.ok
        return (f"all steps p99 {p99:.0f} ms (bar < 1 s), errors {len(self.errors)} (bar 0), "
                f"exactly once {'yes' if self.once.ok else 'NO'}"), ok

    @property
    def passed(self) -> bool:
        return self.bar[1]

    @property
    def label(self) -> str:
        pace = "back to back" if self.think == 0 else f"{self.think:g} s mean pause"
        return (f"{self.dialect}, {self.customers:,} customers, {self.employees} employees ({pace}), {self.mix}, "
                f"{self.workers} workers × {self.threads} threads")

    def table(self) -> list[str]:
        lines = ["| step | n | per s | ack p50 | ack p95 | ack p99 | seen p50 | seen p95 | seen p99 | errors |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        steps = sorted({s.step for s in self.ledger.samples})
        for step in [*steps, "all steps"]:
            rows = [s for s in self.ledger.samples if step == "all steps" or s.step == step]
            acks = [s.ack_ms for s in rows if s.ack_ms is not None and not s.error]
            seen = [s.done_ms for s in rows if s.done_ms is not None and not s.error]
            if step == "all steps":
                seen = self.seen()
            errors = sum(1 for s in rows if s.error)
            lines.append(f"| {step} | {len(rows)} | {len(rows) / self.duration:.1f} | {_ms(acks, 50)} | "
                         f"{_ms(acks, 95)} | {_ms(acks, 99)} | {_ms(seen, 50)} | {_ms(seen, 95)} | "
                         f"{_ms(seen, 99)} | {errors} |")
        return lines

    def notes(self) -> list[str]:
        cores = self.server_cpu / self.duration
        once = self.once
        lines = [
            f"- {self.ledger.requests:,} signed HTTP requests in {self.duration:.0f} s "
            f"({self.ledger.requests / self.duration:.1f}/s); latencies in ms.",
            f"- Errors: {len(self.errors)}" + (": " + "; ".join(f"{n}× {e}" for e, n in
                                                                Counter(self.errors).most_common(5))
                                                 if self.errors else "") +
            f". Block Kit rejected by the stand-in: {self.validation_failures}." +
            (f" Stand-in calls answered ok=false: {self.stand_in_failures}." if self.stand_in_failures else ""),
            f"- Exactly once: {once.accepted} of {once.submitted} submissions accepted ({once.resent} sent twice: "
            f"Slack retry or double click); interactions found once {once.found_once}, missing {once.missing}, "
            f"duplicated {once.duplicated}, written although refused {once.phantom}; answered too late {once.late}; follow-ups found once "
            f"{once.follow_ups_once} of {once.follow_ups}, wrong count {once.follow_up_problems}.",
            f"- CPU: load average (1 min) during the run {min(self.loads):.1f}–{max(self.loads):.1f} "
            f"(mean {statistics.fmean(self.loads):.1f}) on 2 cores; the server used {self.server_cpu:.1f} CPU-s "
            f"({cores:.2f} cores), the bench process (employees + Slack stand-in) {self.client_cpu:.1f} CPU-s "
            f"({self.client_cpu / self.duration:.2f} cores).",
        ]
        bar, ok = self.bar
        lines.append(f"- Bar: {bar}: **{'met' if ok else 'MISSED'}**.")
        return lines

    def markdown(self) -> str:
        return "\n".join([f"{self.label}, {self.duration:.0f} s measured", "", *self.table(), "", *self.notes()])

    def write_readme(self, path: Path, command: str) -> None:
        """Replace this configuration's subsection of "## Load (HTTP)", keeping the others and the rest."""
        text = path.read_text() if path.exists() else "# Benchmarks\n"
        body = "\n".join([f"### {self.label}", "", f"Measured {dt.date.today().isoformat()}:", "",
                          "```", command, "```", "", *self.table(), "", *self.notes(), ""])
        start = text.find(SECTION + "\n")
        if start < 0:
            text = text.rstrip("\n") + "\n\n" + SECTION + "\n\n" + INTRO + "\n" + body
            path.write_text(text)
            return
        end = text.find("\n## ", start + len(SECTION))
        end = len(text) if end < 0 else end + 1
        section = text[start:end]
        subsections = {}
        for chunk in section.split("\n### ")[1:]:
            title = chunk.split("\n", 1)[0]
            subsections[title] = "### " + chunk.rstrip("\n") + "\n"
        subsections[self.label] = body
        rebuilt = SECTION + "\n\n" + INTRO + "\n" + "\n".join(subsections.values())
        path.write_text(text[:start] + rebuilt + ("\n" + text[end:] if text[end:] else ""))
