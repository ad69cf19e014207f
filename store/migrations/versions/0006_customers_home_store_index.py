"""index customers.preferred_store_id (home store)

The morning digest lists each store's VIP customers with an open issue, including those whose home
store it is and whose issue someone elsewhere handles (the call centre): found by home store.

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_customers_preferred_store_id", "customers", ["preferred_store_id"])


def downgrade() -> None:
    op.drop_index("ix_customers_preferred_store_id", table_name="customers")
