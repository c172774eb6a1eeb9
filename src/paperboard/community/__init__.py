"""The community around the catalogue: accounts and sessions, daily listings, votes, comments, moderation."""
