"""What an import did: counts, and the rows it refused with their line number and reason."""
from __future__ import annotations

from dataclasses import dataclass, field

# A million-row file of bad rows must not hold a million problems in memory: past this many the
# report keeps counting but stops keeping them (the CLI prints each batch's problems as it goes).
MAX_KEPT_PROBLEMS = 10_000


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    kind: str
    read: int = 0  # data rows read from the file
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Rows replaced by a later row with the same key in the same batch (the later row wins).
    superseded: int = 0
    rejected: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.problems) < MAX_KEPT_PROBLEMS:
            self.problems.append(RowProblem(line=line, reason=reason))

    def absorb(self, other: ImportReport) -> None:
        """Add another (batch) report's counts and problems into this one."""
        self.read += other.read
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.superseded += other.superseded
        self.rejected += other.rejected
        room = MAX_KEPT_PROBLEMS - len(self.problems)
        if room > 0:
            self.problems.extend(other.problems[:room])

    def in_line_order(self) -> ImportReport:
        # Problems found while parsing come before those found against the database (unknown
        # person, employee or store); people read files top to bottom.
        self.problems.sort(key=lambda problem: problem.line)
        return self

    @property
    def ok(self) -> bool:
        return self.rejected == 0

    def summary(self) -> str:
        text = (
            f"{self.kind}: {self.read} rows read, {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected"
        )
        if self.superseded:
            text += f", {self.superseded} superseded by a later row"
        return text
