"""Initial catalogue schema: results, their scalar quantities, and the ionscope marker.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("ionscope_meta",
                    sa.Column("key", sa.String(64), primary_key=True),
                    sa.Column("value", sa.Text, nullable=False))
    op.create_table("results",
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("dedup_key", sa.String(64), nullable=False, unique=True),
                    sa.Column("kind", sa.String(128), nullable=False),
                    sa.Column("created", sa.String(40), nullable=True),
                    sa.Column("added", sa.String(40), nullable=False),
                    sa.Column("tier", sa.String(16), nullable=False),
                    sa.Column("material", sa.Text, nullable=True),
                    sa.Column("sample", sa.Text, nullable=True),
                    sa.Column("inputs", sa.Text, nullable=False),
                    sa.Column("parameters", sa.Text, nullable=False),
                    sa.Column("ionscope_version", sa.String(64), nullable=False),
                    sa.Column("batch", sa.String(36), nullable=False),
                    sa.Column("document", sa.Text, nullable=False))
    op.create_index("ix_results_kind", "results", ["kind"])
    op.create_index("ix_results_created", "results", ["created"])
    op.create_index("ix_results_tier", "results", ["tier"])
    op.create_index("ix_results_batch", "results", ["batch"])
    op.create_table("result_values",
                    sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id", ondelete="CASCADE"),
                              nullable=False),
                    sa.Column("path", sa.Text, nullable=False),
                    sa.Column("leaf", sa.String(128), nullable=False),
                    sa.Column("value", sa.Float, nullable=False),
                    sa.Column("uncertainty", sa.Float, nullable=True),
                    sa.Column("unit", sa.String(64), nullable=False),
                    sa.Column("si_value", sa.Float, nullable=True),
                    sa.Column("si_unit", sa.String(64), nullable=True))
    op.create_index("ix_result_values_result_id", "result_values", ["result_id"])
    op.create_index("ix_values_leaf_si", "result_values", ["leaf", "si_value"])


def downgrade() -> None:
    op.drop_table("result_values")
    op.drop_table("results")
    op.drop_table("ionscope_meta")
