"""paper embeddings: the title and abstract vectors of each paper, so an index is rebuilt without embedding again

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "paper_embeddings",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=32), nullable=False),
        sa.Column("text_digest", sa.String(length=32), nullable=False),
        sa.Column("paper_changed_at", sa.DateTime(), nullable=False),
        sa.Column("embedded_at", sa.DateTime(), nullable=False),
        sa.Column("title_vector", sa.LargeBinary(), nullable=False),
        sa.Column("abstract_vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id"),
    )
    op.create_index("ix_paper_embeddings_embedded_at", "paper_embeddings", ["embedded_at"])


def downgrade() -> None:
    op.drop_table("paper_embeddings")
