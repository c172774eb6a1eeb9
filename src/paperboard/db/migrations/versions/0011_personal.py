"""personal layer: follows, collections and their items, not-interested marks, author claims, reader models, private
feeds

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from paperboard.db.models import JSONList

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _user_fk(name: str = "user_id", ondelete: str = "CASCADE", nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey("users.id", ondelete=ondelete), nullable=nullable)


def _paper_fk() -> sa.Column:
    return sa.Column("paper_id", sa.Integer(), sa.ForeignKey("papers.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer(), primary_key=True),
        _user_fk(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target_key", sa.String(300), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("query", JSONList, nullable=True),
        _user_fk("followed_user_id", nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "kind", "target_key"),
    )
    op.create_index("ix_follows_kind_target_key", "follows", ["kind", "target_key"])
    op.create_index("ix_follows_followed_user_id", "follows", ["followed_user_id"])

    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("object_id", sa.String(24), nullable=False, unique=True),
        _user_fk("owner_id"),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("is_saved", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_collections_owner_id", "collections", ["owner_id"])
    op.create_index(
        "uq_collections_saved",
        "collections",
        ["owner_id"],
        unique=True,
        sqlite_where=sa.text("is_saved"),
        postgresql_where=sa.text("is_saved"),
    )

    op.create_table(
        "collection_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("object_id", sa.String(24), nullable=False, unique=True),
        sa.Column("collection_id", sa.Integer(), sa.ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
        _paper_fk(),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("collection_id", "paper_id"),
    )
    op.create_index("ix_collection_items_paper_id", "collection_items", ["paper_id"])

    op.create_table(
        "not_interested",
        _user_fk(),
        _paper_fk(),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "paper_id"),
    )

    op.create_table(
        "author_claims",
        sa.Column("id", sa.Integer(), primary_key=True),
        _user_fk(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        _user_fk("decided_by_id", ondelete="SET NULL", nullable=True),
        sa.UniqueConstraint("user_id", "name_key"),
    )
    op.create_index("ix_author_claims_name_key", "author_claims", ["name_key", "status"])
    op.create_index("ix_author_claims_status_created_at", "author_claims", ["status", "created_at"])

    op.create_table(
        "reader_models",
        _user_fk(),
        sa.Column("signals_changed_at", sa.DateTime(), nullable=False),
        sa.Column("trained_at", sa.DateTime(), nullable=True),
        sa.Column("feature_space", sa.String(64), nullable=True),
        sa.Column("model", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("user_id"),
    )

    op.create_table(
        "private_feeds",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        _user_fk(),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("user_id"),
    )


def downgrade() -> None:
    for table in ("private_feeds", "reader_models", "author_claims", "not_interested", "collection_items"):
        op.drop_table(table)
    op.drop_table("collections")
    op.drop_table("follows")
