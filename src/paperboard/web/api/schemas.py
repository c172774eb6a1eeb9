"""The JSON shapes of Hugging Face's papers API, which Paperboard's read endpoints answer with.

Field names are Hugging Face's (camelCase, `_id`); times are UTC, written with a `Z` as Hugging Face writes them
and `huggingface_hub` parses them. Ids Hugging Face takes from its own database are
derived here from Paperboard's, and stay the same between requests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer
from pydantic.alias_generators import to_camel

from paperboard.community.daily_papers import ListedPaper
from paperboard.community.listings import RankedListing
from paperboard.community.organizations import OrganizationRef
from paperboard.community.paper_details import PaperFacts, PaperVersions
from paperboard.db.models import Paper
from paperboard.search.engine import Explanation
from paperboard.web.api.times import UtcDatetime
from paperboard.web.pages.thumbnails import thumbnail_path

AVATAR_PATH = "/static/avatar.svg"
ORGANIZATION_AVATAR_PATH = "/static/organization.svg"


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, serialize_by_alias=True)


class PaperAuthor(ApiModel):
    id: str = Field(alias="_id", description="A stable id of this author of this paper.")
    name: str
    hidden: bool


class Submitter(ApiModel):
    id: str = Field(alias="_id", description="A stable id of the account (or of the imported submitter's name).")
    name: str = Field(description="The user name, as in /users/{name} and the `submitter` filter.")
    # huggingface_hub's `User` reads the user name from `user`, where Hugging Face's answers say `name`: both are
    # sent, so that the client's `username` and readers of Hugging Face's shape find it.
    user: str = Field(description="The user name again, where `huggingface_hub` reads it.")
    fullname: str
    avatar_url: str
    is_pro: bool = Field(default=False, description="Paperboard has no paid accounts: always false.")
    type: Literal["user"] = "user"


class Organization(ApiModel):
    id: str = Field(alias="_id", description="A stable id of the organization.")
    name: str = Field(description="Its address on this site, /organizations/{name}.")
    fullname: str
    # Hugging Face's answers say `avatar`; huggingface_hub's `Organization` reads `avatarUrl`: both are sent.
    avatar: str
    avatar_url: str


class PaperFields(ApiModel):
    id: str = Field(description="The canonical arXiv id.", examples=["2506.03781"])
    authors: list[PaperAuthor]
    published_at: UtcDatetime = Field(description="When arXiv first published the paper.")
    title: str
    summary: str = Field(description="The abstract, LaTeX kept.")
    upvotes: int
    discussion_id: str
    github_repo: str | None = Field(description="The paper's code repository, when known.")
    github_stars: int | None
    project_page: str | None
    submitted_on_daily_at: UtcDatetime | None = Field(description="When the paper was submitted to a daily list.")
    submitted_on_daily_by: Submitter | None
    organization: Organization | None = Field(description="The organization the paper was listed for.")
    ai_keywords: list[str] | None = Field(
        alias="ai_keywords",
        description="Keywords of the paper: the Hugging Face archive's where it has them, else extracted from the "
        "title and abstract by the worker; null until then.",
    )


class PaperDetail(PaperFields):
    """`GET /api/papers/{id}`: the paper's fields flat."""

    num_comments: int


class DailyPaper(ApiModel):
    """One item of `GET /api/daily_papers` and of search results.

    `upvotes`, `githubRepo`, `githubStars`, `projectPage`, `organization` and `ai_keywords` are the paper's, repeated
    beside it: `huggingface_hub`'s `PaperInfo` reads them from the item itself (and takes 0 upvotes inside `paper`
    for none)."""

    paper: PaperFields
    published_at: UtcDatetime = Field(description="When the paper was submitted to its list (its own date if on none).")
    title: str
    summary: str
    upvotes: int
    github_repo: str | None
    github_stars: int | None
    project_page: str | None
    thumbnail: str | None = Field(
        description="The address of the paper's first page as a WebP image once the worker has made it; else null."
    )
    ai_keywords: list[str] | None = Field(alias="ai_keywords")
    num_comments: int
    submitted_by: Submitter | None
    organization: Organization | None = Field(description="The paper's again, where `huggingface_hub` reads it.")
    is_author_participating: bool = Field(description="Paperboard does not verify authors: always false.")


class RankExplanation(ApiModel):
    """Where a search result's place comes from (`explain=1`)."""

    rank: int = Field(description="Its place in the ranking by relevance, 1 first (before any `sort`).")
    keyword_score: float | None = Field(
        description="Its BM25 score, or null where it is not among the keyword ranking's 200 best (or in `semantic` "
        "mode, which reads no keyword ranking)."
    )
    keyword_rank: int | None = Field(description="Its place in the keyword ranking, 1 first, or null as above.")
    cosine: float | None = Field(
        description="The cosine between the query's vector and the paper's, or null where the paper is not among "
        "the 200 nearest, is below 0.2, has no vector yet (or in `keyword` mode, which embeds nothing)."
    )
    semantic_rank: int | None = Field(description="Its place in the semantic ranking, 1 first, or null as above.")
    fused_score: float | None = Field(
        description="In `hybrid` mode, the score it is ranked by: each ranking's score mapped onto 0–1 between that "
        "ranking's best and worst, keyword counted 0.6 and semantic 0.4; null in the other modes."
    )


class SearchItem(DailyPaper):
    """One search result: a `daily_papers` item, with its ranking's explanation when asked for."""

    explain: RankExplanation | None = Field(default=None, description="Only with `explain=1`.")

    # No return annotation: pydantic would document the answer as that type instead of this model's fields.
    @model_serializer(mode="wrap")
    def _explained_only_when_asked(self, handler: SerializerFunctionWrapHandler):
        # Without `explain=1` the item is exactly a `daily_papers` item, as Hugging Face's clients expect.
        data = handler(self)
        if self.explain is None:
            data.pop("explain", None)
        return data


def search_item(item: ApiItem, explanation: Explanation | None) -> SearchItem:
    explained = None if explanation is None else RankExplanation(**vars(explanation))
    return SearchItem(**item, explain=explained)


def _stable_id(*parts: str) -> str:
    """24 hex digits, the length of Hugging Face's ids, from what identifies the thing."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


# An item as the JSON it is written as: the fields of `DailyPaper` (or `PaperDetail`) under their JSON names, in the
# models' order, with times as naive UTC datetimes. Routes return it through their response model, or encode it
# with `encode` where the answer is large and its shape is held by tests instead (tests/web/api/).
ApiItem = dict[str, Any]


@dataclass(frozen=True, slots=True)
class _PaperParts:
    """What a paper's JSON takes from its catalogue row alone (`authors` is shared between answers: never changed)."""

    arxiv_id: str
    authors: list[dict[str, object]]
    published_at: datetime
    title: str
    summary: str
    discussion_id: str


# About 5 KB a paper of the shared corpus (measured with tracemalloc over 5,000: the authors' ids and dictionaries,
# and the title, abstract and names kept alive), so at most about 10 MB a process: several times the papers the
# lists show at once (a month's list holds about 330, trending's window about 500).
PAPER_PARTS: PaperVersions[_PaperParts] = PaperVersions(max_papers=2_000)


def _parts_of(paper: Paper | PaperFacts) -> _PaperParts:
    """The paper's row-made part, built once per version of the row (`PaperVersions`): the building (an id hashed
    per author, the dictionaries) is saved, never a read, so no answer shows an old version."""
    version = (paper.id, paper.changed_at)
    if (parts := PAPER_PARTS.get(version)) is None:
        parts = _PaperParts(
            paper.arxiv_id,
            [
                {"_id": _stable_id(paper.arxiv_id, str(position)), "name": name, "hidden": False}
                for position, name in enumerate(paper.authors)
            ],
            paper.published_at,
            paper.title,
            paper.abstract,
            f"{paper.id:024x}",
        )
        PAPER_PARTS.put(version, parts)
    return parts


def _submitter(listing: RankedListing | None, site_url: str) -> dict[str, object] | None:
    if listing is None or listing.submitter is None:
        return None
    if listing.submitter_id is not None:
        submitter_id = f"{listing.submitter_id:024x}"
    else:
        submitter_id = _stable_id("imported submitter", listing.submitter)
    return {
        "_id": submitter_id,
        "name": listing.submitter,
        "user": listing.submitter,
        "fullname": listing.submitter_display_name or listing.submitter,
        "avatarUrl": site_url + AVATAR_PATH,
        "isPro": False,
        "type": "user",
    }


def _organization(organization: OrganizationRef | None, site_url: str) -> dict[str, object] | None:
    if organization is None:
        return None
    avatar = site_url + ORGANIZATION_AVATAR_PATH
    return {
        "_id": _stable_id("organization", organization.name.casefold()),
        "name": organization.name,
        "fullname": organization.fullname,
        "avatar": avatar,
        "avatarUrl": avatar,
    }


def _paper_fields(listed: ListedPaper, parts: _PaperParts, submitter: object, organization: object) -> ApiItem:
    listing = listed.listing
    return {
        "id": parts.arxiv_id,
        "authors": parts.authors,
        "publishedAt": parts.published_at,
        "title": parts.title,
        "summary": parts.summary,
        "upvotes": listed.upvotes,
        "discussionId": parts.discussion_id,
        "githubRepo": listed.paper.code_url,
        "githubStars": listed.github_stars,
        "projectPage": listed.paper.project_url,
        "submittedOnDailyAt": None if listing is None else listing.submitted_at,
        "submittedOnDailyBy": submitter,
        "organization": organization,
        "ai_keywords": listed.keywords,
    }


def paper_detail(listed: ListedPaper, site_url: str) -> ApiItem:
    """`PaperDetail`'s fields."""
    organization = _organization(listed.organization, site_url)
    fields = _paper_fields(listed, _parts_of(listed.paper), _submitter(listed.listing, site_url), organization)
    return {**fields, "numComments": listed.comments}


def daily_paper(listed: ListedPaper, site_url: str) -> ApiItem:
    """`DailyPaper`'s fields."""
    parts = _parts_of(listed.paper)
    submitter = _submitter(listed.listing, site_url)
    organization = _organization(listed.organization, site_url)
    listing = listed.listing
    return {
        "paper": _paper_fields(listed, parts, submitter, organization),
        "publishedAt": parts.published_at if listing is None else listing.submitted_at,
        "title": parts.title,
        "summary": parts.summary,
        "upvotes": listed.upvotes,
        "githubRepo": listed.paper.code_url,
        "githubStars": listed.github_stars,
        "projectPage": listed.paper.project_url,
        "thumbnail": None if listed.thumbnail is None else site_url + thumbnail_path(parts.arxiv_id),
        "ai_keywords": listed.keywords,
        "numComments": listed.comments,
        "submittedBy": submitter,
        "organization": organization,
        "isAuthorParticipating": False,
    }


def encode(answer: ApiItem | list[ApiItem]) -> bytes:
    """The JSON pydantic writes for the answer's model (compact, UTF-8, times in UTC ending in `Z`), by orjson,
    which takes a tenth of the time."""
    return orjson.dumps(answer, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)
