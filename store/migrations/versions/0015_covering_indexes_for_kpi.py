"""Follow-ups by assignee and by customer, covering what the digests read: the assignee index also
carries created_at and customer_id, so the counts (team overdue per period, each team's customers
waiting longest, an employee's open follow-ups) read the index alone instead of one table row per open
follow-up (~80,000 per batch of 200 teams at 10M interactions; with a cold page cache each was a
random read); the customer index carries status, due date and assignee (the VIP section's open
follow-ups of a store's home customers, the callbacks' "no open follow-up" probe). A store's
interactions by time also carry employee and customer: a store breakdown by employee counts the
distinct customers of its folded row ("everyone else") from the index alone, the rest of that row
coming from the rollup (store/kpi.py `_people_rows`).

Each new index starts with the columns of the one it replaces. IF (NOT) EXISTS: the 10M benchmark
worlds got these indexes by hand before this revision existed, and upgrade without building them twice.

Revision ID: 0015
Revises: 0014
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_follow_ups_assignee_open", "follow_ups",
                    ["assignee_id", "status", "due_date", "created_at", "customer_id", "completed_at"],
                    if_not_exists=True)
    op.drop_index("ix_follow_ups_assignee_status_due", table_name="follow_ups", if_exists=True)
    op.create_index("ix_follow_ups_customer_open", "follow_ups", ["customer_id", "status", "due_date", "assignee_id"],
                    if_not_exists=True)
    op.drop_index("ix_follow_ups_customer_id", table_name="follow_ups", if_exists=True)
    op.create_index("ix_interactions_store_people", "interactions", ["store_id", "created_at", "employee_id", "customer_id"],
                    if_not_exists=True)
    op.drop_index("ix_interactions_store_created", table_name="interactions", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_interactions_store_created", "interactions", ["store_id", "created_at"])
    op.drop_index("ix_interactions_store_people", table_name="interactions")
    op.create_index("ix_follow_ups_customer_id", "follow_ups", ["customer_id"])
    op.drop_index("ix_follow_ups_customer_open", table_name="follow_ups")
    op.create_index("ix_follow_ups_assignee_status_due", "follow_ups", ["assignee_id", "status", "due_date"])
    op.drop_index("ix_follow_ups_assignee_open", table_name="follow_ups")
