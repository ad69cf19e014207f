"""live sources, the inbox of received events, source-record indexes for identity on arrival (issue 11: ingest)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Identity on arrival reads a record's neighbourhood through these (store/arrival.py).
_ARRIVAL_COLUMNS = ("email", "phone", "loyalty_id", "birth_date", "postcode")


def upgrade() -> None:
    op.create_table(
        "live_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=True),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("rotated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_live_sources_name")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_live_sources_key_hash")),
    )
    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("person_key", sa.String(length=200), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("event_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("applied_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["live_sources.id"], ondelete="CASCADE",
                                name=op.f("fk_inbox_messages_source_id_live_sources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_messages")),
        sa.UniqueConstraint("source_id", "message_id", name=op.f("uq_inbox_messages_source_id_message_id")),
    )
    op.create_index("ix_inbox_messages_state_due", "inbox_messages", ["state", "due_at", "id"])
    op.create_index("ix_inbox_messages_person", "inbox_messages", ["person_key", "id"])
    for column in _ARRIVAL_COLUMNS:
        op.create_index(f"ix_source_records_{column}", "source_records", [column])


def downgrade() -> None:
    for column in _ARRIVAL_COLUMNS:
        op.drop_index(f"ix_source_records_{column}", table_name="source_records")
    op.drop_index("ix_inbox_messages_person", table_name="inbox_messages")
    op.drop_index("ix_inbox_messages_state_due", table_name="inbox_messages")
    op.drop_table("inbox_messages")
    op.drop_table("live_sources")
