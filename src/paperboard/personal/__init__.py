"""The personal layer: what one reader follows, saves, claims and dismisses, and the feed ranked from it."""
