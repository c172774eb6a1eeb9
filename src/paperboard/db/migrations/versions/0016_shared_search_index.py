"""search index generations stored in the database, for web hosts that share nothing but it

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from paperboard.db.models import JSONList

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_index_generations",
        sa.Column("generation", sa.String(64), primary_key=True),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.Column("files", JSONList, nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_search_index_generations_published_at", "search_index_generations", ["published_at"])
    op.create_table(
        "search_index_chunks",
        sa.Column(
            "generation",
            sa.String(64),
            sa.ForeignKey("search_index_generations.generation", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("file", sa.String(255), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Stored out of line without compression: arrays of floats and ids barely compress, and pglz spent the CPU
        # of every upload trying.
        op.execute("ALTER TABLE search_index_chunks ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("search_index_chunks")
    op.drop_index("ix_search_index_generations_published_at", "search_index_generations")
    op.drop_table("search_index_generations")
