"""RSS 2.0 and Atom feeds of the daily lists, trending, the newest papers (of a category) and any search: which
papers each holds (`sources`), and the feed documents themselves (`documents`). Plain functions; the web layer
serves them."""
