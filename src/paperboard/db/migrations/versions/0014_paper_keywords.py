"""paper keywords: from the Hugging Face archive or extracted from the title and abstract

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from paperboard.db.models import JSONList

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "paper_keywords",
        sa.Column("paper_id", sa.Integer(), sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("keywords", JSONList, nullable=False),
        sa.Column("text_digest", sa.String(32), nullable=True),
        sa.Column("made_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("paper_keywords")
