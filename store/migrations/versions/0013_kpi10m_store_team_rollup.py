"""KPI rollup for stores and teams: interaction_kpi_facts gets the interaction's store and team and the
gaps of the store, team and store x employee / channel / type groups; kpi_daily an index by key;
customers an index for the digests' VIP section (home store, status, tier)

Both tables are rebuilt empty and the state row removed: KPIs come from the raw rows until `frontline
migrate` (which runs this first) builds the whole rollup again for FRONTLINE_TIMEZONE
(store/kpi_rollup.py). Each interaction's facts need its customer's history, so there is no cheaper
way to fill the new columns.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_OLD_GAPS = ("gap_all", "gap_employee", "gap_channel", "gap_type")
_NEW_GAPS = ("gap_store", "gap_team", "gap_store_employee", "gap_store_channel", "gap_store_type")


def _facts_table(with_scopes: bool) -> None:
    scopes = [sa.Column("store_id", sa.Integer(), nullable=True), sa.Column("team_id", sa.Integer(), nullable=True),
              *(sa.Column(name, sa.SmallInteger(), nullable=False) for name in _NEW_GAPS)] if with_scopes else []
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
        *(sa.Column(name, sa.SmallInteger(), nullable=False) for name in _OLD_GAPS),
        *scopes,
        sa.ForeignKeyConstraint(["interaction_id"], ["interactions.id"],
                                name=op.f("fk_interaction_kpi_facts_interaction_id_interactions")),
        sa.PrimaryKeyConstraint("interaction_id", name=op.f("pk_interaction_kpi_facts")),
    )


def _daily_table(with_index: bool) -> None:
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
    if with_index:
        op.create_index("ix_kpi_daily_key_day", "kpi_daily", ["dimension", "key", "day"])


def _recreate(with_scopes: bool) -> None:
    # Dropped rather than emptied and altered: instant on both databases at any size, and SQLite
    # cannot add a NOT NULL column without a default.
    op.execute("DELETE FROM kpi_rollup_state")
    op.drop_table("kpi_daily")
    op.drop_table("interaction_kpi_facts")
    _facts_table(with_scopes)
    _daily_table(with_scopes)


def upgrade() -> None:
    _recreate(True)
    # The digests' VIP section: a store's home customers filtered by status and tier from the index.
    op.create_index("ix_customers_home_store_vip", "customers", ["preferred_store_id", "status", "loyalty_tier"])


def downgrade() -> None:
    op.drop_index("ix_customers_home_store_vip", table_name="customers")
    _recreate(False)
