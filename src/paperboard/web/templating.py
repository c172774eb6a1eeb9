"""The Jinja2 templates of the site, with the filters, tests and globals they use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

import paperboard
from paperboard.catalog.authors import author_key
from paperboard.catalog.latex import to_html, to_plain
from paperboard.catalog.taxonomy import CATEGORY_NAMES
from paperboard.db.models import User
from paperboard.github.repositories import repository_name
from paperboard.web.reader_state import CSRF_MARKER, is_following, is_shared_render, reader_guard, reader_mark
from paperboard.web.security import csrf_token

TEMPLATES_DIR = Path(__file__).with_name("templates")

AUTHORS_SHOWN = 3


@dataclass(frozen=True, slots=True)
class AuthorSummary:
    shown: tuple[str, ...]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.shown)


def summarise_authors(authors: Sequence[str], shown: int = AUTHORS_SHOWN) -> AuthorSummary:
    """The first few authors and how many there are; "+ 1 more" would take as much room as the name it hides."""
    listed = authors if len(authors) <= shown + 1 else authors[:shown]
    return AuthorSummary(shown=tuple(listed), total=len(authors))


def format_date(moment: date) -> str:
    """`4 Jun 2025`: unambiguous wherever the reader lives, unlike 6/4/2025."""
    return f"{moment.day} {moment:%b %Y}"


def share_of(part: int, whole: int) -> str | None:
    """`part` of `whole` as a percentage that reads 100% only when it is all of it; None when `whole` is 0."""
    if not whole:
        return None
    if part >= whole:
        return "100%"
    return f"{min(100 * part / whole, 99.9):.1f}%"


def plural(word: str, count: int, plural_form: str | None = None) -> str:
    """`word` as it reads after `count`: `{{ "mail" | plural(n) }}` gives "mail" for 1, "mails" otherwise."""
    return word if count == 1 else plural_form or word + "s"


def is_web_url(value: object) -> bool:
    """Whether a stored link may become an `href`: imported records can carry any text, `javascript:` included."""
    return isinstance(value, str) and urlsplit(value).scheme in ("http", "https")


@jinja2.pass_context
def csrf_token_global(context: dict[str, Any]) -> str:
    request = context["request"]
    return Markup(CSRF_MARKER) if is_shared_render(request) else csrf_token(request)


@jinja2.pass_context
def signed_in_user(context: dict[str, Any]) -> User | None:
    """The user a page was made for; None on pages whose route did not look (error pages) or for visitors."""
    user: User | None = getattr(context["request"].state, "user", None)
    return user


@jinja2.pass_context
def path_for(context: dict[str, Any], name: str, /, **path_params: Any) -> str:
    """The root-relative path of a route, so that links keep working behind a proxy that terminates TLS."""
    return context["request"].url_for(name, **path_params).path


@jinja2.pass_context
def current_path(context: dict[str, Any]) -> str:
    """This page's address within the site as the browser asked for it (still percent-encoded: an author's name may
    hold `/` or `?`), with its query: where a form sends the reader back to."""
    request = context["request"]
    raw_path: bytes | None = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else quote(request.url.path)
    return path + (f"?{request.url.query}" if request.url.query else "")


def author_path_params(name: str) -> dict[str, str]:
    """The path parameters of an author's page. Every character but letters, digits and `_.-~` is percent-encoded:
    arXiv names may hold `/`, `?`, `#` or `%`, which would otherwise end the path or start a query."""
    return {"name": quote(name, safe="")}


@jinja2.pass_context
def author_path(context: dict[str, Any], name: str) -> str:
    return context["request"].url_for("author", **author_path_params(name)).path


def is_known_category(value: object) -> bool:
    """Whether a category has a page: those of arXiv's taxonomy, as arXiv spells them (imports may carry others)."""
    return value in CATEGORY_NAMES


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["author_summary"] = summarise_authors
    environment.filters["date"] = format_date
    environment.filters["plural"] = plural
    environment.globals["share_of"] = share_of
    # A record's LaTeX: `latex` in pages (formulas for KaTeX, or as text with `katex=false`), `latex_text` where no
    # markup can go (the tab's title, attributes).
    environment.filters["latex"] = to_html
    environment.filters["latex_text"] = to_plain
    environment.tests["web_url"] = is_web_url
    environment.filters["github_repository"] = repository_name
    environment.tests["known_category"] = is_known_category
    environment.globals["path_for"] = path_for
    environment.globals["author_path"] = author_path
    environment.globals["current_path"] = current_path
    environment.globals["csrf_token"] = csrf_token_global
    environment.globals["signed_in_user"] = signed_in_user
    environment.globals["version"] = paperboard.__version__
    # The reader's own upvotes, saves, "not interested" marks and follows, for their buttons (web/reader_state.py).
    environment.filters["author_key"] = author_key
    environment.globals["is_following"] = is_following
    environment.globals["reader_mark"] = reader_mark
    environment.globals["reader_guard"] = reader_guard
    environment.globals["category_title"] = CATEGORY_NAMES.get
    return environment


templates = Jinja2Templates(env=_environment())
