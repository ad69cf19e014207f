"""daily KPI rollup: kpi_daily, interaction_kpi_facts, kpi_rollup_state

The tables start empty and without a state row, so KPIs keep coming from the raw rows until
`frontline migrate` builds the rollup for the configured time zone (store/kpi_rollup.py).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_rollup_state")),
    )
    op.create_table(
        "interaction_kpi_facts",
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("resolved", sa.SmallInteger(), nullable=False),
        sa.Column("repeat_contact", sa.SmallInteger(), nullable=False),
        sa.Column("purchase", sa.SmallInteger(), nullable=False),
        sa.Column("gap_all", sa.SmallInteger(), nullable=False),
        sa.Column("gap_employee", sa.SmallInteger(), nullable=False),
        sa.Column("gap_channel", sa.SmallInteger(), nullable=False),
        sa.Column("gap_type", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["interaction_id"], ["interactions.id"],
                                name=op.f("fk_interaction_kpi_facts_interaction_id_interactions")),
        sa.PrimaryKeyConstraint("interaction_id", name=op.f("pk_interaction_kpi_facts")),
    )
    op.create_table(
        "kpi_daily",
        sa.Column("dimension", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("gap", sa.SmallInteger(), nullable=False),
        sa.Column("interactions", sa.Integer(), nullable=False),
        sa.Column("first_contacts", sa.Integer(), nullable=False),
        sa.Column("resolved_first_contacts", sa.Integer(), nullable=False),
        sa.Column("repeat_contacts", sa.Integer(), nullable=False),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "day", "key", "gap", name=op.f("pk_kpi_daily")),
    )


def downgrade() -> None:
    op.drop_table("kpi_daily")
    op.drop_table("interaction_kpi_facts")
    op.drop_table("kpi_rollup_state")
