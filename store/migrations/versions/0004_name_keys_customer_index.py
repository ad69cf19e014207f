"""index customer_name_keys by customer_id

The name-key triggers (revisions 0002 and 0003) run `DELETE FROM customer_name_keys WHERE customer_id =
old.id` whenever a customer is renamed, merged, erased or deleted. The table's only key is (key,
customer_id), so each of those deletes scanned the whole table: ~15 keys a customer, ~15 million rows
at a million customers, for every renamed customer of a relink. New customers get increasing ids, so
this index grows at its right edge and costs little on insert.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEX = "ix_customer_name_keys_customer_id"


def upgrade() -> None:
    op.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON customer_name_keys (customer_id)")


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
