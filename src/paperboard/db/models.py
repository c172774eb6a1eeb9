"""Table definitions. Times are naive datetimes in UTC on every backend."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

JSONList = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(), date: Date()}


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


class PaperAuthor(Base):
    """A paper's authors in order, one row each, so that the papers of a name are found through an index instead of
    by reading every paper's `authors` list. Kept in step with `Paper.authors` by catalog/store.py.

    `name` is arXiv's string; `name_key` is it folded for lookup (catalog/authors.py: `author_key`)."""

    __tablename__ = "paper_authors"
    __table_args__ = (Index("ix_paper_authors_name_key", "name_key", "paper_id"),)

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(Text)


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


class User(Base):
    """An account. `username_key` is the name folded to lower case: names are unique whatever their case."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40))
    username_key: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]
    suspended_at: Mapped[datetime | None]

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class UserSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ApiToken(Base):
    """A personal API token that scripts send as `Authorization: Bearer ...`; like a session, only its SHA-256 is
    stored. `last_used_at` moves at most about once a minute, so that using a token rarely costs a write."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """One try at signing in, kept for a while to rate-limit guessing per account and per address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_key", "username_key", "attempted_at"),
        Index("ix_login_attempts_address", "address", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username_key: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime]
    succeeded: Mapped[bool]


class RateWindow(Base):
    """How often something happened for `key` in the fixed window that began at `window_start`: the limits that
    must hold across worker processes and that no other table counts (sign-ups per address, subscription requests
    per client address, link mails per mailbox; `db.rate_windows`)."""

    __tablename__ = "rate_windows"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(index=True)
    count: Mapped[int]


class Listing(Base):
    """A paper on a daily list: submitted on `day`, by a local user or, for imported history, by a named one."""

    __tablename__ = "listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), unique=True)
    day: Mapped[date] = mapped_column(index=True)
    # Indexed for the API's default order, newest submission first, which reads one page of it.
    submitted_at: Mapped[datetime] = mapped_column(index=True)
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Imported history (the Hugging Face archive): its submitter's name and its counts, kept apart from local
    # users and their votes, and added to them for ranking.
    imported_submitter: Mapped[str | None] = mapped_column(String(100))
    imported_upvotes: Mapped[int] = mapped_column(default=0)
    imported_comments: Mapped[int] = mapped_column(default=0)
    github_stars: Mapped[int | None]
    hidden_at: Mapped[datetime | None]
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The organization the listing was submitted for (Hugging Face's `organization`); indexed for its page.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"), index=True)


class Organization(Base):
    """A lab, company or university papers were listed for (community/organizations.py). `name` is its address,
    made from `fullname` as first seen; `name_key` (case-folded) is what makes two spellings one organization."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    fullname: Mapped[str] = mapped_column(String(200))


class GithubRepository(Base):
    """A GitHub repository some paper links to as its code, and its stars as GitHub last told them (github/).

    `repo_key` is `owner/name` from the paper's link, case-folded; `full_name` is the name to ask GitHub for, the
    new one after a rename. `etag` makes the next check a conditional request; `checked_at` (None: never) orders
    the checks, oldest first; `gone_at` is set while GitHub answers that the repository does not exist."""

    __tablename__ = "github_repositories"

    id: Mapped[int] = mapped_column(primary_key=True)
    repo_key: Mapped[str] = mapped_column(String(300), unique=True)
    full_name: Mapped[str] = mapped_column(String(300))
    stars: Mapped[int | None]
    etag: Mapped[str | None] = mapped_column(String(200))
    checked_at: Mapped[datetime | None] = mapped_column(index=True)
    gone_at: Mapped[datetime | None]


class SubmissionFetch(Base):
    """A submission of a paper the catalogue lacks, waiting for the worker to fetch it from arXiv: web requests
    never call arXiv, they record this row and answer "pending". One row per paper (`arxiv_id` is unique), so that
    a paper submitted many times is fetched once.

    `status` is `pending` until the worker is done with it, then `listed` (the paper was fetched and put on the
    list for `submitter_id`) or `refused` (`message` says why, in words for the submitter: unknown to arXiv, too
    old, arXiv unreachable after `attempts` tries). A pending row is due at `next_attempt_at`; a worker that claims
    it moves that time past its own request, so that no other worker takes it meanwhile, and one killed midway
    leaves it to be taken again then.
    """

    __tablename__ = "submission_fetches"
    __table_args__ = (Index("ix_submission_fetches_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(64), unique=True)
    submitter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class ArxivRequestSlot(Base):
    """When the latest request to one of arXiv's services (`service`, such as `api`) was allowed to start, by any
    process of the site: the one place that keeps arXiv's "one request every 3 s" across processes and hosts."""

    __tablename__ = "arxiv_request_slots"

    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    starts_at: Mapped[datetime]


class Vote(Base):
    """One user's upvote of one paper, with when it was cast: trending decays with the age of each vote."""

    __tablename__ = "votes"
    __table_args__ = (Index("ix_votes_paper_id_created_at", "paper_id", "created_at"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime]


class Comment(Base):
    """A comment on a paper, or a reply to one (one level deep). The Markdown source and its sanitised HTML."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_paper_id_created_at", "paper_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class PaperEmbedding(Base):
    """A paper's vectors for semantic search, kept so that a lost or stale index is rebuilt without embedding again.

    The title and the abstract are embedded apart: the index searches a blend of the two, and the search benchmark
    can search abstracts alone. `model` names the vector space (a digest of the embedder's identifier);
    `text_digest` is a digest of the texts embedded, so that a paper whose other fields changed is not embedded
    again. Vectors are float16 bytes.
    """

    __tablename__ = "paper_embeddings"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(32))
    text_digest: Mapped[str] = mapped_column(String(32))
    # The paper's changed_at when it was last checked: a newer one means the paper must be looked at again.
    paper_changed_at: Mapped[datetime]
    embedded_at: Mapped[datetime] = mapped_column(index=True)
    title_vector: Mapped[bytes] = mapped_column(LargeBinary)
    abstract_vector: Mapped[bytes] = mapped_column(LargeBinary)


class PaperKeywords(Base):
    """A paper's keywords, as Hugging Face's `ai_keywords`: from its archive (`source` `archive`), which win, or
    extracted here from the title and abstract (`extracted`, search/keyword_extraction.py). `text_digest` is that of
    the paper vector the extracted ones were ranked against (`paper_embeddings.text_digest`): when it differs, the
    text changed and they are extracted again. An empty list says extraction found nothing, so it is not retried."""

    __tablename__ = "paper_keywords"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    keywords: Mapped[list[str]] = mapped_column(JSONList)
    text_digest: Mapped[str | None] = mapped_column(String(32))
    made_at: Mapped[datetime]


class Subscriber(Base):
    """Someone who asked for digests by mail, with or without an account.

    `email_key` is the address folded to lower case: one subscription per address whatever its case. A subscriber is
    `pending` until the confirmation link is followed (nothing but that link is mailed before), then `active`;
    `paused` after repeated permanent delivery failures; `unsubscribed` keeps the row, so that a later subscription
    of the same address is the same subscriber and its outbox history still stops a second copy of a digest.
    """

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    frequency: Mapped[str] = mapped_column(String(8))
    categories: Mapped[list[str]] = mapped_column(JSONList, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSONList, default=list)
    # "Include my For-you picks" (digest.compose), only for a subscriber with an account. The name is the option's
    # first meaning, "papers like the ones I upvoted", which the feed's ranking (it learns from upvotes) replaced.
    similar_to_upvoted: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    # When a confirmation or manage link was last mailed: asking again sooner mails nothing, so that the form cannot
    # be used to flood an inbox.
    link_mailed_at: Mapped[datetime | None]
    # Permanent (5xx) failures in a row; a delivery resets it.
    consecutive_failures: Mapped[int] = mapped_column(default=0)


class OutboxMessage(Base):
    """One mail to send, composed once: unique per (subscriber, kind, period), so that composing a digest again
    finds the row already there instead of adding a second copy.

    `kind` is `daily` or `weekly` for digests (`period_key` the period's key), or a link mail (`confirmation`,
    `manage`) keyed by the time it was asked for. `contents` holds a digest's sections as lists of paper ids; the
    message is rendered from them when it is sent. `status` goes `pending` → `sending` (committed before the SMTP
    transaction starts) → `sent`, or `failed` for good; a temporary failure leaves it `pending` with a later
    `next_attempt_at`. `message_id` is the mail's Message-ID, the same on every attempt, so that a copy resent after
    a crash between the server's acceptance and the commit can be recognised.
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "kind", "period_key"),
        Index("ix_mail_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    period_key: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    contents: Mapped[dict[str, Any] | None] = mapped_column(JSONList)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    # When the attempt that left `last_error` failed; None if none has, or if it failed before migration 0007.
    failed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class ScheduledRun(Base):
    """A scheduled job's run for one period (`job` such as `harvest` or `digest:daily`, `run_key` the day or week):
    its row exists once the run started and `finished_at` once it completed, so that the worker runs each job once
    per period and resumes one that was interrupted."""

    __tablename__ = "scheduled_runs"

    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class Follow(Base):
    """One thing an account follows: an author name (`kind` `author`, `target_key` the name's lookup key from
    catalog/authors.py), an arXiv category or archive (`category`, its canonical id such as `cs.CL`), a saved search
    (`search`, `target_key` a canonical digest of `query`, the query text and its filters) or another account
    (`user`, `followed_user_id`). `label` is what the reader sees: the name as arXiv spells it, the query. The one
    set of follows of an account, read by its feed and by its email digest alike."""

    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "target_key"),
        Index("ix_follows_kind_target_key", "kind", "target_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    target_key: Mapped[str] = mapped_column(String(300))
    label: Mapped[str] = mapped_column(Text)
    query: Mapped[dict[str, Any] | None] = mapped_column(JSONList)
    followed_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


class PaperCollection(Base):
    """A reader's ordered list of papers, shaped like a Hugging Face collection: its address is
    `{owner}/{slug of the title}-{object_id}`, `object_id` being 24 hexadecimal digits as Hugging Face's ids are.
    Every account has one `is_saved` collection ("Saved", private), made when first needed."""

    __tablename__ = "collections"
    __table_args__ = (
        Index(
            "uq_collections_saved",
            "owner_id",
            unique=True,
            sqlite_where=text("is_saved"),
            postgresql_where=text("is_saved"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    object_id: Mapped[str] = mapped_column(String(24), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    private: Mapped[bool]
    is_saved: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CollectionItem(Base):
    """A paper in a collection, at `position` (0 first), with the owner's note. `object_id` is the item's own
    24-hex id, by which Hugging Face's API updates and deletes items."""

    __tablename__ = "collection_items"
    __table_args__ = (UniqueConstraint("collection_id", "paper_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    object_id: Mapped[str] = mapped_column(String(24), unique=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    # Indexed for "the collections that hold this paper" (Hugging Face's `item=papers/ID` filter).
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime]


class NotInterested(Base):
    """A reader's private "not interested" mark on a paper: hidden from their feeds, a negative for their model."""

    __tablename__ = "not_interested"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime]


class AuthorClaim(Base):
    """An account's claim to be the author arXiv names `name` (`name_key` its lookup key): `pending` until a
    moderator makes it `approved` or `refused`. `evidence` is what the claimant wrote to support it."""

    __tablename__ = "author_claims"
    __table_args__ = (
        UniqueConstraint("user_id", "name_key"),
        Index("ix_author_claims_name_key", "name_key", "status"),
        Index("ix_author_claims_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ReaderModel(Base):
    """A reader's learned taste. `signals_changed_at` moves whenever the reader does something their feed learns
    from (follow, save, upvote, not interested, a claim decided: `personal.activity.signals_changed`); the model
    (`model`, in the feature space named by `feature_space`) is retrained when it is older than that."""

    __tablename__ = "reader_models"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    signals_changed_at: Mapped[datetime]
    trained_at: Mapped[datetime | None]
    feature_space: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[bytes | None] = mapped_column(LargeBinary)


class PrivateFeed(Base):
    """The secret address of a reader's "for you" feed for feed readers (`/feeds/for-you/{secret}.atom`): only
    the secret's SHA-256 is stored; revoking deletes the row."""

    __tablename__ = "private_feeds"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime]


class ThumbnailJob(Base):
    """A listed paper whose first-page thumbnail the worker is to make from arXiv's PDF (`thumbnails/jobs.py`); web
    requests never download or render a PDF. One row per paper.

    `status` is `pending` until the worker is done with it, then `done` (the image is in `paper_thumbnails`) or
    `refused` (`message` says why: no PDF at arXiv, a PDF too large, unreadable or too slow to render, arXiv
    unreachable after `attempts` tries). A pending row is due at `next_attempt_at`, which a worker's claim moves past
    its lease (`db/job_queue.py`).
    """

    __tablename__ = "thumbnail_jobs"
    __table_args__ = (Index("ix_thumbnail_jobs_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class PaperThumbnail(Base):
    """The first page of a paper's PDF as a small WebP: derived data, which `paperboard thumbnails queue --rebuild`
    makes again from arXiv. In the database rather than in files, so that every web host of a site sharing one
    PostgreSQL serves the same image without a shared file system, and backups carry it."""

    __tablename__ = "paper_thumbnails"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    image: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int]
    height: Mapped[int]
    rendered_at: Mapped[datetime]


class SearchIndexGeneration(Base):
    """A search index generation as built by a worker, shared through the database so that every web host of a
    site on PostgreSQL downloads it into its own data folder (`search/shared_index.py`). `files` lists the
    generation's files ({"name", "size", "sha256"}); it is `published_at` once every chunk is stored."""

    __tablename__ = "search_index_generations"

    generation: Mapped[str] = mapped_column(String(64), primary_key=True)
    built_at: Mapped[datetime]
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSONList)
    published_at: Mapped[datetime | None] = mapped_column(index=True)


class SearchIndexChunk(Base):
    """A few MiB of one file of a shared generation: no single value is large, and a download streams."""

    __tablename__ = "search_index_chunks"

    generation: Mapped[str] = mapped_column(
        ForeignKey("search_index_generations.generation", ondelete="CASCADE"), primary_key=True
    )
    file: Mapped[str] = mapped_column(String(255), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
