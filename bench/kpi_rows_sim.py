"""Rows a company breakdown by employee sums at 10M interactions, without a 10M world: `python bench/kpi_rows_sim.py`.

One store of the 10M bench world (50 people, 10,000 customers, 100,000 interactions a year, 80% with a
customer, drawn uniformly as `bench/kpi.py generate` draws them), employee gaps as the rollup computes
them, keys from `Fact.contributions`; prints the rows of each employee dimension and the rows each
"all … by employee" period of the mix sums with week rows only (main) and with this code's spans, times
100 stores."""
import collections
import datetime as dt
import random

from store import kpi_rollup
from store.kpi_query import parse_kpi_query

EMPLOYEE_DIMENSIONS = {"employee", "empl_wk", "empl_wn", "empl_to", "empl_fr"}
STORES = 100


def contacts(rng: random.Random, end: int) -> list[tuple[int, int, int | None]]:
    drawn = [(rng.randrange(end - 365, end), rng.randrange(50), rng.randrange(10000) if rng.random() < .8 else None)
             for _ in range(100_000)]
    return sorted(drawn, key=lambda contact: contact[0])


def rollup_keys(end: int) -> set[tuple]:
    last: dict[tuple[int, int], int] = {}
    keys = set()
    for day, employee, customer in contacts(random.Random(1), end):
        gap = kpi_rollup.NO_CUSTOMER
        if customer is not None:
            previous = last.get((employee, customer))
            gap = kpi_rollup.NO_EARLIER if previous is None or day - previous > 366 else day - previous
            last[(employee, customer)] = day
        fact = kpi_rollup.Fact(day=day, employee_id=employee, channel="x", type="x", resolved=0, repeat_contact=0,
                               purchase=0, gap_all=0, gap_employee=gap, gap_channel=0, gap_type=0, store_id=None,
                               team_id=None, gap_store=0, gap_team=0, gap_store_employee=0, gap_store_channel=0,
                               gap_store_type=0)
        keys.update(key for key, _ in fact.contributions() if key[0] in EMPLOYEE_DIMENSIONS)
    return keys


def weeks_only(start: int, end: int) -> list[tuple[str, int, int]]:
    """The spans of revision 0016 (week rows and day rows)."""
    first_week, weeks_end = kpi_rollup.week_start(start + 6), kpi_rollup.week_start(end)
    if weeks_end <= first_week:
        return [("employee", start, end)]
    spans = [("empl_wk", first_week, weeks_end)]
    if start < first_week:
        spans.insert(0, ("employee", start, first_week))
    if weeks_end < end:
        spans.append(("employee", weeks_end, end))
    return spans


def main() -> None:
    keys = rollup_keys(dt.date(2026, 3, 12).toordinal())
    per_dimension = collections.Counter(key[0] for key in keys)
    print("rows per dimension:", {str(d): n * STORES for d, n in per_dimension.items()})

    def rows(spans: list[tuple[str, int, int]]) -> int:
        return STORES * sum(1 for key in keys for d, first, stop in spans if key[0] == d and first <= key[1] < stop)

    for text in ["today", "week", "month", "last 30 days", "2026-02", "2026-02-01..2026-02-14"]:
        period = parse_kpi_query(f"all {text} by employee", today=dt.date(2026, 3, 11)).period
        start, end = period.start.toordinal(), period.end.toordinal()
        now = [(s.dimension.value, s.first, s.stop) for s in kpi_rollup._spans(kpi_rollup.Dimension.EMPLOYEE, start, end)]
        print(f"{text:24} weeks only {rows(weeks_only(start, end)):9,}  short-period rows {rows(now):9,}")


if __name__ == "__main__":
    main()
