"""The company's employee rows of the KPI rollup also per week (`kpi_daily` rows of dimension "empl_wk"):
a company-wide breakdown by employee reads a period's whole weeks there and only its end days per day
(store/kpi_rollup.py, "weeks").

Filled from the employee day rows in one INSERT ... SELECT, no interaction read: a week row is the sum of
its seven days' rows, each row's gap seen from the week's Monday (`kpi_rollup.week_gap`, frozen here as
SQL). A database without a rollup has no day rows and gets none; `frontline migrate` builds both later.

Revision ID: 0016
Revises: 0015
"""
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# As in store/kpi_rollup.py when this revision was written.
_NO_EARLIER = 367
_WEEK_DAYS = 7
_COUNTS = "interactions, first_contacts, resolved_first_contacts, repeat_contacts, purchases, resolved"


def upgrade() -> None:
    monday = f"day - (day - 1) % {_WEEK_DAYS}"
    before = f"gap - (day - 1) % {_WEEK_DAYS}"
    sums = ", ".join(f"sum({name})" for name in _COUNTS.split(", "))
    op.execute(f"""
        INSERT INTO kpi_daily (dimension, day, key, gap, {_COUNTS})
        SELECT 'empl_wk', {monday}, key,
               CASE WHEN gap >= {_NO_EARLIER} THEN {_NO_EARLIER} WHEN {before} > 0 THEN {before} ELSE 0 END,
               {sums}
        FROM kpi_daily WHERE dimension = 'employee'
        GROUP BY {monday}, key, CASE WHEN gap >= {_NO_EARLIER} THEN {_NO_EARLIER} WHEN {before} > 0 THEN {before} ELSE 0 END
    """)


def downgrade() -> None:
    op.execute("DELETE FROM kpi_daily WHERE dimension = 'empl_wk'")
