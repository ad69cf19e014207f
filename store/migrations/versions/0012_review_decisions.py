"""review in Slack: employee_permissions (data stewards), review_decisions (answers, for undo), and an
index on match_reviews.record_b_id (a card's pending reviews from either side)

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "employee_permissions",
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("permission", sa.String(length=32), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["employee_id"], ["employees.id"],
                                name=op.f("fk_employee_permissions_employee_id_employees")),
        sa.PrimaryKeyConstraint("employee_id", "permission", name=op.f("pk_employee_permissions")),
    )
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=False),
        sa.Column("merge_event_id", sa.Integer(), nullable=True),
        sa.Column("employee_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=32), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.Column("undone_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["review_id"], ["match_reviews.id"], ondelete="CASCADE",
                                name=op.f("fk_review_decisions_review_id_match_reviews")),
        sa.ForeignKeyConstraint(["employee_id"], ["employees.id"],
                                name=op.f("fk_review_decisions_employee_id_employees")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decisions")),
    )
    op.create_index("ix_review_decisions_review_id", "review_decisions", ["review_id"])
    op.create_index("ix_match_reviews_record_b_id", "match_reviews", ["record_b_id"])


def downgrade() -> None:
    op.drop_index("ix_match_reviews_record_b_id", table_name="match_reviews")
    op.drop_index("ix_review_decisions_review_id", table_name="review_decisions")
    op.drop_table("review_decisions")
    op.drop_table("employee_permissions")
