"""the inbox's per-person index holds unfinished events only (issue 11: ingestbulk)

Every worker step reads its people's earlier pending and waiting events (store.inbox: the claim of
earlier events and the order barriers). Through (person_key, id) that read went over each person's whole
history in the inbox, applied events included, each row then fetched from the table to check its state:
a cost per step that grew with every event a person had sent. A partial index on the unfinished states
holds only the backlog; the queries state its predicate in the same words (store.models.INBOX_UNFINISHED).
Nothing else reads the old index, which is dropped (one index fewer to write per stored event).

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# store.models.INBOX_UNFINISHED, as of this revision
_UNFINISHED = "state IN ('pending', 'waiting')"


def upgrade() -> None:
    # builds from the unfinished rows only: instant on an inbox that keeps up
    op.create_index("ix_inbox_messages_unfinished", "inbox_messages", ["person_key", "id"],
                    sqlite_where=sa.text(_UNFINISHED), postgresql_where=sa.text(_UNFINISHED))
    op.drop_index("ix_inbox_messages_person", table_name="inbox_messages")


def downgrade() -> None:
    op.create_index("ix_inbox_messages_person", "inbox_messages", ["person_key", "id"])
    op.drop_index("ix_inbox_messages_unfinished", table_name="inbox_messages")
