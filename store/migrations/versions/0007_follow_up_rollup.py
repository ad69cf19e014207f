"""company-wide follow-up rollup: follow_up_kpi_facts, kpi_follow_up_daily, kpi_follow_up_durations

The tables start empty and kpi_rollup_state.follow_ups_built_at NULL, so company-wide follow-up
figures keep coming from the raw rows until `frontline migrate` builds them (store/kpi_rollup.py).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kpi_rollup_state") as batch_op:
        batch_op.add_column(sa.Column("follow_ups_built_at", sa.DateTime(), nullable=True))
    op.create_table(
        "follow_up_kpi_facts",
        sa.Column("follow_up_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_day", sa.Integer(), nullable=False),
        sa.Column("done_day", sa.Integer(), nullable=True),
        sa.Column("duration_us", sa.BigInteger(), nullable=True),
        sa.Column("duration_bucket", sa.SmallInteger(), nullable=True),
        sa.Column("overdue_from", sa.Integer(), nullable=True),
        sa.Column("overdue_until", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("follow_up_id", name=op.f("pk_follow_up_kpi_facts")),
    )
    op.create_index("ix_follow_up_kpi_facts_duration", "follow_up_kpi_facts",
                    ["duration_bucket", "done_day", "duration_us"])
    op.create_table(
        "kpi_follow_up_daily",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("overdue_from", sa.Integer(), nullable=False),
        sa.Column("overdue_until", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_kpi_follow_up_daily")),
    )
    op.create_table(
        "kpi_follow_up_durations",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "bucket", name=op.f("pk_kpi_follow_up_durations")),
    )


def downgrade() -> None:
    op.drop_table("kpi_follow_up_durations")
    op.drop_table("kpi_follow_up_daily")
    op.drop_index("ix_follow_up_kpi_facts_duration", table_name="follow_up_kpi_facts")
    op.drop_table("follow_up_kpi_facts")
    with op.batch_alter_table("kpi_rollup_state") as batch_op:
        batch_op.drop_column("follow_ups_built_at")
