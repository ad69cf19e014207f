"""shopify_versions: the latest applied version of each Shopify customer, order and checkout

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shopify_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("resource", sa.String(length=16), nullable=False),
        sa.Column("shopify_id", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("triggered_at", sa.DateTime(), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopify_versions")),
        sa.UniqueConstraint("source", "resource", "shopify_id", name=op.f("uq_shopify_versions_source_resource_shopify_id")),
    )


def downgrade() -> None:
    op.drop_table("shopify_versions")
