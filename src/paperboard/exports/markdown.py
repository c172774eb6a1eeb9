"""A paper as Markdown, what `huggingface_hub.HfApi.read_paper(id)` fetches from `/papers/{id}.md`: its title, links,
authors, dates, categories, its standing on the daily lists, then the abstract.

Every text that comes from a record (title, names, abstract, notes) is escaped, so that it reads as written once
rendered and cannot turn into a link, an image, raw HTML, emphasis or a heading, whatever a hostile or careless
record holds. LaTeX stays as written once rendered: its backslashes, doubled in the Markdown, render single.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from sqlalchemy.orm import Session

from paperboard.catalog.ids import ArxivId
from paperboard.community.counts import activity_counts
from paperboard.community.paper_activity import ListedOn, listed_on
from paperboard.db.models import Paper

# Characters that start or end Markdown constructs anywhere in a line: escapes, code, emphasis, strikethrough,
# links and images, HTML and autolinks, entities, and the closing hashes of a heading.
_INLINE_SPECIALS = re.compile(r"([\\`*_~\[\]<>&#])")
# What opens a block when it starts a line: a list item (`-`, `+`, `1.`, `1)`) or a setext underline (`=`).
_BLOCK_START = re.compile(r"^([-+=]|\d+(?=[.)]))", re.MULTILINE)
_LINE_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)
# What a link destination keeps as it is; anything else (spaces, `<`, `>`, parentheses) is percent-encoded, so that
# no address can end the link early.
_URL_SAFE = "/:?#[]@!$&'*+,;=%~-._"


def escape_markdown(text: str) -> str:
    """Text that Markdown renders as written (but for indentation at the start of a line)."""
    # An indented line would be code; in a record's text, indentation means nothing.
    escaped = _INLINE_SPECIALS.sub(r"\\\1", _LINE_INDENT.sub("", text))

    def escape_block_start(match: re.Match[str]) -> str:
        marker = match[1]
        # A list number is escaped through the character after it; a marker character through itself.
        return f"{marker}\\" if marker[0].isdigit() else f"\\{marker}"

    return _BLOCK_START.sub(escape_block_start, escaped)


def _link(label: str, url: str) -> str:
    return f"[{label}](<{quote(url, safe=_URL_SAFE)}>)"


def _link_line(paper: Paper) -> str:
    arxiv_id = ArxivId(paper.arxiv_id)
    version = f"v{paper.version}" if paper.version else ""
    links = [_link(f"arXiv:{paper.arxiv_id}{version}", arxiv_id.abs_url), _link("PDF", arxiv_id.pdf_url)]
    # Records are checked to hold only http(s) addresses here; checked again, as nothing else may become a link.
    if paper.code_url and paper.code_url.startswith(("http://", "https://")):
        links.append(_link("Code", paper.code_url))
    if paper.project_url and paper.project_url.startswith(("http://", "https://")):
        links.append(_link("Project page", paper.project_url))
    return " · ".join(links)


def _listing_facts(listing: ListedOn, upvotes: int, comments: int) -> list[str]:
    submitter = listing.submitter.username if listing.submitter else listing.imported_submitter
    listed = listing.day.isoformat() + (f", submitted by {escape_markdown(submitter)}" if submitter else "")
    return [f"**Listed:** {listed}", f"**Upvotes:** {upvotes}", f"**Comments:** {comments}"]


def render_paper_markdown(paper: Paper, listing: ListedOn | None, upvotes: int, comments: int) -> str:
    """The Markdown of a paper, with its listing's figures when it is on a daily list."""
    facts = []
    if paper.authors:
        facts.append("**Authors:** " + ", ".join(escape_markdown(name) for name in paper.authors))
    facts.append(f"**Published:** {paper.published_at.date().isoformat()}")
    if paper.updated_at and paper.updated_at.date() != paper.published_at.date():
        facts.append(f"**Updated:** {paper.updated_at.date().isoformat()}")
    if paper.deleted_at:
        facts.append(f"**Withdrawn:** {paper.deleted_at.date().isoformat()}")
    if paper.categories:
        facts.append("**Categories:** " + ", ".join(category.category for category in paper.categories))
    if paper.doi:
        facts.append(f"**DOI:** {_link(escape_markdown(paper.doi), 'https://doi.org/' + paper.doi)}")
    if paper.journal_ref:
        facts.append(f"**Journal reference:** {escape_markdown(paper.journal_ref)}")
    if paper.comment:
        facts.append(f"**Authors' note:** {escape_markdown(paper.comment)}")
    if listing is not None:
        facts += _listing_facts(listing, upvotes, comments)
    sections = [
        f"# {escape_markdown(paper.title)}",
        _link_line(paper),
        "\n".join(f"- {fact}" for fact in facts),
        "## Abstract",
        escape_markdown(paper.abstract) if paper.abstract else "No abstract.",
    ]
    return "\n\n".join(sections) + "\n"


def paper_markdown(session: Session, paper: Paper) -> str:
    """The Markdown of a stored paper, with its upvotes and comments when it is on a list readers see."""
    listing = listed_on(session, paper.id)
    if listing is None:
        return render_paper_markdown(paper, None, 0, 0)
    activity = activity_counts(session, [paper.id])[paper.id]
    return render_paper_markdown(paper, listing, activity.upvotes, activity.comments)
