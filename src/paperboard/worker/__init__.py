"""The background work of a site (`paperboard worker`): what is due at which local time, and running it."""
