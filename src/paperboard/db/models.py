"""Table definitions. Times are naive datetimes in UTC on every backend."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

JSONList = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime()}


class Paper(Base):
    """One arXiv paper at its latest known version."""

    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(64), unique=True)
    version: Mapped[int | None]
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSONList)
    published_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    journal_ref: Mapped[str | None] = mapped_column(Text)
    doi: Mapped[str | None] = mapped_column(String(255))
    license: Mapped[str | None] = mapped_column(String(255))
    code_url: Mapped[str | None] = mapped_column(Text)
    project_url: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None]
    # Catalogue bookkeeping, not part of the paper: when this row was first stored and last changed.
    added_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())
    changed_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp(), index=True)

    categories: Mapped[list[PaperCategory]] = relationship(
        order_by="PaperCategory.position", cascade="all, delete-orphan", lazy="selectin"
    )


class PaperCategory(Base):
    """A paper's arXiv categories in order; position 0 is the primary category."""

    __tablename__ = "paper_categories"
    __table_args__ = (Index("ix_paper_categories_category", "category", "paper_id"),)

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(64))


class HarvestCheckpoint(Base):
    """Where an OAI-PMH harvest stands, so that a killed run resumes at the page it had reached."""

    __tablename__ = "harvest_checkpoints"
    __table_args__ = (UniqueConstraint("endpoint", "metadata_prefix", "set_spec", "from_date", "until_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(500))
    metadata_prefix: Mapped[str] = mapped_column(String(32))
    # Empty strings rather than NULL, so that the unique constraint holds on every backend.
    set_spec: Mapped[str] = mapped_column(String(100))
    from_date: Mapped[str] = mapped_column(String(10))
    until_date: Mapped[str] = mapped_column(String(10))
    resumption_token: Mapped[str | None] = mapped_column(Text)
    complete_list_size: Mapped[int | None]
    pages: Mapped[int] = mapped_column(default=0)
    records: Mapped[int] = mapped_column(default=0)
    latest_datestamp: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
