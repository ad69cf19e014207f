"""Employee rows of the KPI rollup for short periods (`kpi_daily` dimensions "empl_wn", "empl_to" and
"empl_fr", store/kpi_rollup.py "short periods"): a company-wide breakdown by employee over at most six
weeks reads near weeks and one row set for each end of the period instead of its end days.

Filled from the employee day rows in one INSERT ... SELECT per dimension, no interaction read: a day row
holds contacts of one day with one gap, and every short-period row is a sum of such contacts with the
gap seen from the row's Monday (near weeks, weeks to a day) or from its first day (weeks from a day),
frozen here as SQL as in store/kpi_rollup.py when this revision was written. A database without a
rollup has no day rows and gets none; `frontline migrate` builds everything later.

Revision ID: 0018
Revises: 0017
"""
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# As in store/kpi_rollup.py when this revision was written.
_NO_EARLIER = 367
_NEAR_DAYS = 41
_WEEK_DAYS = 7
_COUNTS = "interactions, first_contacts, resolved_first_contacts, repeat_contacts, purchases, resolved"
_DIMENSIONS = ("empl_wn", "empl_to", "empl_fr")


def _near(gap: str) -> str:
    return f"CASE WHEN {gap} <= 0 THEN 0 WHEN {gap} > {_NEAR_DAYS} THEN {_NEAR_DAYS + 1} ELSE {gap} END"


def upgrade() -> None:
    weekday = f"((day - 1) % {_WEEK_DAYS})"  # 0 on Mondays
    in_week = (f"CASE WHEN gap >= {_NO_EARLIER} THEN {_NO_EARLIER} WHEN gap - {weekday} > 0 "
               f"THEN gap - {weekday} ELSE 0 END")
    near = _near(in_week)
    sums = ", ".join(f"sum({name})" for name in _COUNTS.split(", "))
    offsets = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(_WEEK_DAYS - 1))
    employee_days = f"kpi_daily, ({offsets}) offsets WHERE kpi_daily.dimension = 'employee'"
    for dimension, day, gap, source in (
            ("empl_wn", f"day - {weekday}", near, "kpi_daily WHERE dimension = 'employee'"),
            ("empl_to", "day + n", near, f"{employee_days} AND {weekday} + n <= {_WEEK_DAYS - 2}"),
            ("empl_fr", "day - n", "CASE WHEN gap > n THEN 1 ELSE 0 END", f"{employee_days} AND n < {weekday}")):
        op.execute(f"""
            INSERT INTO kpi_daily (dimension, day, key, gap, {_COUNTS})
            SELECT '{dimension}', {day}, key, {gap}, {sums}
            FROM {source}
            GROUP BY {day}, key, {gap}
        """)


def downgrade() -> None:
    op.execute("DELETE FROM kpi_daily WHERE dimension IN ('empl_wn', 'empl_to', 'empl_fr')")
