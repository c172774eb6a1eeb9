"""Splitting a long list into numbered pages: the `?page=N` parameter and the arithmetic around it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import HTTPException, Query, status

# Validation turns a malformed or non-positive number into a 422; a number past the last page is a 404 (see `of`).
PageNumber = Annotated[int, Query(ge=1, description="Page number, from 1.")]


@dataclass(frozen=True, slots=True)
class Pagination:
    page: int
    per_page: int
    total: int

    @classmethod
    def of(cls, page: int, *, per_page: int, total: int) -> Pagination:
        """The pagination for `page`, or a 404 when the list has no such page (page 1 always exists, even empty)."""
        pagination = cls(page=page, per_page=per_page, total=total)
        if page > pagination.pages:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"There is no page {page}: the list has {pagination.pages} page{'s' if pagination.pages > 1 else ''}.",
            )
        return pagination

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def first_number(self) -> int:
        """The position of the page's first item in the whole list, counted from 1."""
        return self.offset + 1

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None
