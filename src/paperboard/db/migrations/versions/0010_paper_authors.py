"""paper authors: each paper's authors one row each, with a lookup key, so author pages use an index; filled from
the papers already stored

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from paperboard.catalog.authors import AUTHOR_COLUMNS, author_rows
from paperboard.db.inserts import insert_values
from paperboard.db.models import JSONList

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Papers read per batch: memory stays flat on a catalogue of any size.
BACKFILL_BATCH = 5000

_papers = sa.table("papers", sa.column("id", sa.Integer()), sa.column("authors", JSONList))


def upgrade() -> None:
    paper_authors = op.create_table(
        "paper_authors",
        sa.Column("paper_id", sa.Integer(), sa.ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("paper_id", "position"),
    )
    assert paper_authors is not None
    _backfill(op.get_bind(), paper_authors)
    # Built once after the rows are in: faster than keeping it up to date row by row.
    op.create_index("ix_paper_authors_name_key", "paper_authors", ["name_key", "paper_id"])


def _backfill(connection: sa.Connection, paper_authors: sa.Table) -> None:
    """Rows for every stored paper, read in batches by primary key (keyset: each batch costs the same)."""
    last_id = 0
    while True:
        batch = connection.execute(
            sa.select(_papers.c.id, _papers.c.authors)
            .where(_papers.c.id > last_id)
            .order_by(_papers.c.id)
            .limit(BACKFILL_BATCH)
        ).all()
        if not batch:
            return
        rows = [row for paper_id, authors in batch for row in author_rows(paper_id, authors or [])]
        insert_values(connection, paper_authors, AUTHOR_COLUMNS, rows)
        last_id = batch[-1].id


def downgrade() -> None:
    op.drop_table("paper_authors")
