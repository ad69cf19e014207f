"""match_reviews.evidence and learned_match_models: identity evidence and learned parameters

match_reviews.evidence holds the field-by-field evidence, with weights, behind a pending match;
nullable: reviews queued before this revision have no evidence and show their reasons only.
learned_match_models keeps the parameters each batch relink estimated (the latest is in use).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("match_reviews") as batch_op:
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
    op.create_table(
        "learned_match_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("estimated_at", sa.DateTime(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learned_match_models")),
    )


def downgrade() -> None:
    op.drop_table("learned_match_models")
    with op.batch_alter_table("match_reviews") as batch_op:
        batch_op.drop_column("evidence")
