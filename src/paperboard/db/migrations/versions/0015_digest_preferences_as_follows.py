"""the categories and keywords of digest subscriptions connected to an account become the account's follows

An account's follows are its digest's preferences from now on (`personal.follows.digest_preferences`); this copies
what such subscriptions had chosen, so that no reader's digest changes. The subscriptions keep their own lists
(nothing is deleted): a subscription disconnected from its account later still has them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from paperboard.clock import utcnow
from paperboard.db.models import JSONList
from paperboard.personal.follows import MAX_FOLLOWS, category_target, search_target

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

subscribers = sa.table(
    "subscribers",
    sa.column("user_id", sa.Integer()),
    sa.column("categories", JSONList),
    sa.column("keywords", JSONList),
)
follows = sa.table(
    "follows",
    sa.column("user_id", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("target_key", sa.String()),
    sa.column("label", sa.Text()),
    sa.column("query", JSONList),
    sa.column("followed_user_id", sa.Integer()),
    sa.column("created_at", sa.DateTime()),
)


def upgrade() -> None:
    connection = op.get_bind()
    existing: dict[int, set[tuple[str, str]]] = {}
    for user_id, kind, target_key in connection.execute(
        sa.select(follows.c.user_id, follows.c.kind, follows.c.target_key)
    ):
        existing.setdefault(user_id, set()).add((kind, target_key))
    now = utcnow()
    rows = []
    for user_id, categories, keywords in connection.execute(
        sa.select(subscribers.c.user_id, subscribers.c.categories, subscribers.c.keywords).where(
            subscribers.c.user_id.is_not(None)
        )
    ):
        held = existing.setdefault(user_id, set())
        # Stored by the subscription service, so canonical and valid already; a bad value is skipped, not fatal.
        targets = []
        for category in categories or []:
            try:
                targets.append(category_target(category))
            except LookupError:
                continue
        for keyword in keywords or []:
            try:
                targets.append(search_target({"q": keyword}))
            except ValueError:
                continue
        for target in targets:
            if len(held) >= MAX_FOLLOWS or (target.kind, target.target_key) in held:
                continue
            held.add((target.kind, target.target_key))
            rows.append(
                {
                    "user_id": user_id,
                    "kind": target.kind,
                    "target_key": target.target_key,
                    "label": target.label,
                    "query": target.query,
                    "followed_user_id": None,
                    "created_at": now,
                }
            )
    if rows:
        op.bulk_insert(follows, rows)


def downgrade() -> None:
    # Nothing to undo: the subscriptions kept their own categories and keywords, and the follows made here are
    # the accounts' like any other (0011's downgrade drops the table).
    pass
