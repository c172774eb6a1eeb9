"""thumbnails: the worker's queue of first pages to render from arXiv's PDFs, and the WebP images it made

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _paper_fk(**options: bool) -> sa.Column:
    return sa.Column(
        "paper_id", sa.Integer(), sa.ForeignKey("papers.id", ondelete="CASCADE"), nullable=False, **options
    )


def upgrade() -> None:
    op.create_table(
        "thumbnail_jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        _paper_fk(unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_thumbnail_jobs_status_next_attempt_at", "thumbnail_jobs", ["status", "next_attempt_at"])
    op.create_table(
        "paper_thumbnails",
        _paper_fk(primary_key=True),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("rendered_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("paper_thumbnails")
    op.drop_table("thumbnail_jobs")
