"""A paper page in Chromium: LaTeX typeset by the site's own KaTeX under its strict Content-Security-Policy, and
scripts in a record or a comment that never run."""

from __future__ import annotations

from playwright.sync_api import expect

from paperboard.catalog.jsonl import record_to_json
from tests.catalog.factories import make_record
from tests.catalog.test_jsonl import write_lines
from tests.conftest import PASSWORD

TITLE = r"Attention in $\mathcal{O}(n)$ <script>alert('title')</script>"
ABSTRACT = (
    r"We prove $$\sum_{i=1}^n x_i \le \frac{1}{2}$$ for \(\alpha < \beta\). <img src=x onerror=alert('abstract')>"
)


def import_paper(live_server, tmp_path) -> None:
    lines = [record_to_json(make_record("2506.00001", title=TITLE, abstract=ABSTRACT))]
    result = live_server.cli.run("import", str(write_lines(tmp_path / "papers.jsonl", lines)))
    assert result.returncode == 0, result.stderr


def test_latex_is_typeset_with_the_sites_own_katex(live_server, tmp_path, page):
    import_paper(live_server, tmp_path)
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    outside: list[str] = []
    page.on(
        "request", lambda request: None if request.url.startswith(live_server.base_url) else outside.append(request.url)
    )

    page.goto(live_server.url("/papers/2506.00001"))

    title = page.locator("#paper-title")
    expect(title.locator(".katex")).to_have_count(1)
    expect(title).to_contain_text("<script>alert('title')</script>")
    abstract = page.locator(".paper-abstract p")
    expect(abstract.locator(".katex-display")).to_have_count(1)
    expect(abstract.locator(".katex")).to_have_count(2)
    expect(abstract).to_contain_text("<img src=x onerror=alert('abstract')>")
    assert page.evaluate("document.fonts.ready.then(() => document.fonts.check('16px KaTeX_Main'))")
    # KaTeX's inline styles apply under a policy without 'unsafe-inline': it sets them through the DOM.
    struts = page.evaluate(
        "[...document.querySelectorAll('.katex .strut')].map(element => parseFloat(getComputedStyle(element).height))"
    )
    assert len(struts) >= 3 and all(height > 0 for height in struts)
    assert refused == [] and outside == []


def test_without_javascript_the_latex_stays_readable(live_server, tmp_path, page_without_javascript):
    import_paper(live_server, tmp_path)
    page_without_javascript.goto(live_server.url("/papers/2506.00001"))
    expect(page_without_javascript.locator("#paper-title")).to_have_text(TITLE)
    expect(page_without_javascript.locator(".katex")).to_have_count(0)


def test_comment_and_reply_with_scripts_that_do_not_run(live_server, tmp_path, page):
    import_paper(live_server, tmp_path)
    live_server.create_user("ada")
    page.goto(live_server.url("/login?next=/papers/2506.00001"))
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_label("Add a comment").fill("<script>alert('comment')</script> <img src=x onerror=alert(1)> **Nice**")
    page.get_by_role("button", name="Comment", exact=True).click()
    comment = page.locator(".comment").first
    expect(comment.locator("strong")).to_have_text("Nice")
    expect(comment).to_contain_text("<script>alert('comment')</script>")

    page.locator("details.reply summary").click()
    page.get_by_label("Your reply").fill("[A link](https://example.org)")
    page.get_by_role("button", name="Reply", exact=True).click()
    link = page.locator(".comment-replies a", has_text="A link")
    expect(link).to_have_attribute("rel", "nofollow ugc")
    # The page fixture fails the test if any alert() opened a dialog.
