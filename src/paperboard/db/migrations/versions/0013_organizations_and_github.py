"""organizations and GitHub repositories: the organization a listing was submitted for, and each linked
repository's stars with the ETag and time of their last check

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False, unique=True),
        sa.Column("fullname", sa.String(200), nullable=False),
    )
    # A batch: SQLite adds a column with a foreign key only by copying the table.
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("organization_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_listings_organization_id", "organizations", ["organization_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_listings_organization_id", ["organization_id"])
    op.create_table(
        "github_repositories",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("repo_key", sa.String(300), nullable=False, unique=True),
        sa.Column("full_name", sa.String(300), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=True),
        sa.Column("etag", sa.String(200), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("gone_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_github_repositories_checked_at", "github_repositories", ["checked_at"])


def downgrade() -> None:
    op.drop_table("github_repositories")
    with op.batch_alter_table("listings") as batch:
        batch.drop_index("ix_listings_organization_id")
        batch.drop_constraint("fk_listings_organization_id", type_="foreignkey")
        batch.drop_column("organization_id")
    op.drop_table("organizations")
