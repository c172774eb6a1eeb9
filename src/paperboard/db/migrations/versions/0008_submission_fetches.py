"""submission fetches: submissions of papers the catalogue lacks, queued for the worker to fetch from arXiv; the
site-wide time of the latest arXiv request

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "submission_fetches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("arxiv_id", sa.String(64), nullable=False, unique=True),
        sa.Column("submitter_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_submission_fetches_submitter_id", "submission_fetches", ["submitter_id"])
    op.create_index("ix_submission_fetches_status_next_attempt_at", "submission_fetches", ["status", "next_attempt_at"])
    op.create_table(
        "arxiv_request_slots",
        sa.Column("service", sa.String(32), primary_key=True),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("arxiv_request_slots")
    op.drop_table("submission_fetches")
