"""match_reviews.evidence: the field-by-field evidence, with weights, behind a pending match

Nullable: reviews queued before this revision have no evidence and show their reasons only.

Revision ID: 0008_em
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_em"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("match_reviews") as batch_op:
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("match_reviews") as batch_op:
        batch_op.drop_column("evidence")
