"""Alembic environment: runs migrations on the engine that `paperboard.db.schema` hands over."""

from alembic import context

from paperboard.db.models import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
