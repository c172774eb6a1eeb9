"""Papers in the formats other programs read: BibTeX for reference managers, Markdown for people and language
models. Plain functions of stored papers; the web layer serves them."""
