"""conversation memory: conversation_threads, conversation_candidates (store/conversations.py);
employee_access_holds (an admin's deactivation holds against syncs: store/employees.py)

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "employee_access_holds",
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("held_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], ondelete="CASCADE",
                                name=op.f("fk_employee_access_holds_employee_id_employees")),
        sa.PrimaryKeyConstraint("employee_id", name=op.f("pk_employee_access_holds")),
    )
    op.create_table(
        "conversation_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("thread_ts", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("draft", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], ondelete="CASCADE",
                                name=op.f("fk_conversation_threads_employee_id_employees")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_threads")),
        sa.UniqueConstraint("employee_id", "channel_id", "thread_ts",
                            name=op.f("uq_conversation_threads_employee_id_channel_id_thread_ts")),
    )
    op.create_index(op.f("ix_conversation_threads_customer_id"), "conversation_threads", ["customer_id"])
    op.create_index(op.f("ix_conversation_threads_updated_at"), "conversation_threads", ["updated_at"])
    op.create_table(
        "conversation_candidates",
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["thread_id"], ["conversation_threads.id"], ondelete="CASCADE",
                                name=op.f("fk_conversation_candidates_thread_id_conversation_threads")),
        sa.PrimaryKeyConstraint("thread_id", "position", name=op.f("pk_conversation_candidates")),
    )
    op.create_index(op.f("ix_conversation_candidates_customer_id"), "conversation_candidates", ["customer_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_conversation_candidates_customer_id"), table_name="conversation_candidates")
    op.drop_table("conversation_candidates")
    op.drop_index(op.f("ix_conversation_threads_updated_at"), table_name="conversation_threads")
    op.drop_index(op.f("ix_conversation_threads_customer_id"), table_name="conversation_threads")
    op.drop_table("conversation_threads")
    op.drop_table("employee_access_holds")
