"""GitHub repositories that papers link to as their code, and their stars, kept fresh from GitHub's REST API."""
