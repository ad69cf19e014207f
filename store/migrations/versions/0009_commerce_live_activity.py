"""live website activity: web_visitors, web_activity, baskets, web_notices (store/live/commerce.py)

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_visitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("anonymous_id", sa.String(length=128), nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=True),
        sa.Column("consent", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["source_record_id"], ["source_records.id"],
                                name=op.f("fk_web_visitors_source_record_id_source_records")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_visitors")),
        sa.UniqueConstraint("source", "anonymous_id", name=op.f("uq_web_visitors_source_anonymous_id")),
    )
    op.create_index(op.f("ix_web_visitors_source_record_id"), "web_visitors", ["source_record_id"])
    op.create_table(
        "web_activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("source_record_id", sa.Integer(), nullable=True),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("product_name", sa.String(length=200), nullable=True),
        sa.Column("price", sa.Numeric(12, 2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_web_activity_customer_id_customers")),
        sa.ForeignKeyConstraint(["source_record_id"], ["source_records.id"],
                                name=op.f("fk_web_activity_source_record_id_source_records")),
        sa.ForeignKeyConstraint(["visitor_id"], ["web_visitors.id"],
                                name=op.f("fk_web_activity_visitor_id_web_visitors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_activity")),
    )
    op.create_index("ix_web_activity_customer_at", "web_activity", ["customer_id", "occurred_at"])
    op.create_index(op.f("ix_web_activity_source_record_id"), "web_activity", ["source_record_id"])
    op.create_index(op.f("ix_web_activity_visitor_id"), "web_activity", ["visitor_id"])
    op.create_table(
        "baskets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("cart_key", sa.String(length=160), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("source_record_id", sa.Integer(), nullable=True),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("checkout_started_at", sa.DateTime(), nullable=True),
        sa.Column("abandoned_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_baskets_customer_id_customers")),
        sa.ForeignKeyConstraint(["source_record_id"], ["source_records.id"],
                                name=op.f("fk_baskets_source_record_id_source_records")),
        sa.ForeignKeyConstraint(["visitor_id"], ["web_visitors.id"], name=op.f("fk_baskets_visitor_id_web_visitors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_baskets")),
        sa.UniqueConstraint("source", "cart_key", name=op.f("uq_baskets_source_cart_key")),
    )
    op.create_index("ix_baskets_customer_updated", "baskets", ["customer_id", "updated_at"])
    op.create_index("ix_baskets_open", "baskets", ["closed_at", "abandoned_at", "updated_at"])
    op.create_index(op.f("ix_baskets_source_record_id"), "baskets", ["source_record_id"])
    op.create_index(op.f("ix_baskets_visitor_id"), "baskets", ["visitor_id"])
    op.create_table(
        "web_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("happened_at", sa.DateTime(), nullable=False),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.Column("sent_day", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_web_notices_employee_id_employees")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_notices")),
        sa.UniqueConstraint("employee_id", "customer_id", "sent_day",
                            name=op.f("uq_web_notices_employee_id_customer_id_sent_day")),
    )
    op.create_index(op.f("ix_web_notices_customer_id"), "web_notices", ["customer_id"])
    op.create_index("ix_web_notices_pending", "web_notices", ["handled_at", "happened_at"])


def downgrade() -> None:
    op.drop_table("web_notices")
    op.drop_table("baskets")
    op.drop_table("web_activity")
    op.drop_table("web_visitors")
