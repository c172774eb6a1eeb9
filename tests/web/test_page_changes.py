"""The page cache emptied through the one list of callbacks (`web.page_changes`), and a page whose making began
before an emptying (an announcement from another host arrived meanwhile) is served but not kept."""

from __future__ import annotations

from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from paperboard.web.middleware import AnonymousPageCache
from paperboard.web.page_changes import PageChanges


class Pages:
    """An app that counts the pages it makes, and can announce a change while it makes one."""

    def __init__(self, changes: PageChanges) -> None:
        self.changes = changes
        self.made = 0
        self.announce_while_making = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.made += 1
        if self.announce_while_making:
            self.changes.changed()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": f"page {self.made}".encode()})


def cached(pages: Pages, changes: PageChanges) -> TestClient:
    return TestClient(AnonymousPageCache(pages, ttl=60, prefixes=("/papers",), max_bytes=1 << 20, changes=changes))


def test_every_registered_cache_is_emptied_by_a_change():
    changes = PageChanges()
    emptied: list[str] = []
    changes.register(lambda: emptied.append("another cache"))
    pages = Pages(changes)
    client = cached(pages, changes)
    assert [client.get("/papers/1").text for _ in range(2)] == ["page 1", "page 1"]

    changes.changed()
    assert client.get("/papers/1").text == "page 2"
    assert emptied == ["another cache"]


def test_a_page_made_across_a_change_is_not_kept():
    changes = PageChanges()
    pages = Pages(changes)
    client = cached(pages, changes)
    pages.announce_while_making = True
    assert client.get("/papers/1").text == "page 1"
    pages.announce_while_making = False
    assert [client.get("/papers/1").text for _ in range(2)] == ["page 2", "page 2"]
