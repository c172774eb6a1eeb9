"""Storage: the engine and sessions, the tables, and schema migrations."""

from paperboard.db.engine import Database, UnsupportedDatabaseError

__all__ = ["Database", "UnsupportedDatabaseError"]
