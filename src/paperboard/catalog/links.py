"""Finding a paper's code repository and project page in its abstract and comments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# A URL ends at white space or at characters that close the sentence or the LaTeX around it.
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'{}\\|^`]+|\b(?:github|gitlab)\.com/[^\s<>\"'{}\\|^`]+", re.IGNORECASE)
_URL_MARKERS = ("http", "www.", "github.com", "gitlab.com")
_TRAILING = ".,;:!?)]}'\""
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "git.io", "sourceforge.net")
# Hosts that are never a paper's own project page: papers, publishers, model/data hubs, generic services.
_NOT_PROJECT_PAGES = (
    "arxiv.org",
    "doi.org",
    "dx.doi.org",
    "huggingface.co",
    "hf.co",
    "zenodo.org",
    "youtube.com",
    "youtu.be",
    "creativecommons.org",
    "openreview.net",
    "aclanthology.org",
    "kaggle.com",
    "colab.research.google.com",
    "drive.google.com",
    "docs.google.com",
)
_REPO_PATH = re.compile(r"^/[^/]+/[^/]+")


@dataclass(frozen=True, slots=True)
class PaperLinks:
    code_url: str | None
    project_url: str | None


def _clean(url: str) -> str:
    url = url.rstrip(_TRAILING)
    # A LaTeX \url{...} or a parenthesised URL leaves its opening bracket outside and its closing one inside.
    while url.count("(") < url.count(")") and url.endswith(")"):
        url = url[:-1]
    if not url.lower().startswith(("http://", "https://")):
        url = "https://" + url
    return url


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _on(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def _repository_url(url: str) -> str | None:
    """The URL when it points into a repository (not a user's or the host's own page), tidied; None otherwise."""
    host = _host(url)
    if host in ("git.io", "sourceforge.net") or _REPO_PATH.match(urlsplit(url).path):
        return url.rstrip("/").removesuffix(".git")
    return None


def find_links(*texts: str | None) -> PaperLinks:
    """The first code repository and the first project page mentioned in the texts, in order."""
    code_url: str | None = None
    project_url: str | None = None
    for text in texts:
        # Most abstracts hold no URL at all; a plain substring test is far cheaper than the regular expression.
        lowered = (text or "").lower()
        if not any(marker in lowered for marker in _URL_MARKERS):
            continue
        for raw in _URL.findall(text or ""):
            url = _clean(raw)
            host = _host(url)
            if not host or "." not in host:
                continue
            if _on(host, _CODE_HOSTS):
                code_url = code_url or _repository_url(url)
            elif project_url is None and not _on(host, _NOT_PROJECT_PAGES):
                project_url = url
    return PaperLinks(code_url=code_url, project_url=project_url)
