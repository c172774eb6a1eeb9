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


# arXiv's own words for these (titles and abstracts are their authors' LaTeX).
TEXT_MODE_TITLE = r"D$^{2}$R$^{2}$OSR: \textsc{Sota} Schr\"odinger bridges"
TEXT_MODE_ABSTRACT = (
    r"We gain \textbf{policy efficiency} of 51.4\% on \emph{all} tasks~at once, for \$5 or \$10 a run "
    r"(code: \url{https://example.org/code})."
)


def test_text_mode_latex_is_rendered_the_tab_gets_plain_text_and_comments_typeset_maths(live_server, tmp_path, page):
    record = make_record("2506.00002", title=TEXT_MODE_TITLE, abstract=TEXT_MODE_ABSTRACT)
    result = live_server.cli.run("import", str(write_lines(tmp_path / "papers.jsonl", [record_to_json(record)])))
    assert result.returncode == 0, result.stderr

    page.goto(live_server.url("/papers/2506.00002"))

    expect(page).to_have_title("D²R²OSR: Sota Schrödinger bridges · Paperboard")
    title = page.locator("#paper-title")
    expect(title.locator(".katex")).to_have_count(2)
    expect(title.locator(".small-caps")).to_have_text("Sota")
    assert title.locator(".small-caps").evaluate("element => getComputedStyle(element).fontVariantCaps") == (
        "small-caps"
    )
    abstract = page.locator(".paper-abstract p")
    expect(abstract.locator("strong")).to_have_text("policy efficiency")
    expect(abstract.locator("em")).to_have_text("all")
    expect(abstract).to_contain_text("of 51.4% on all tasks")
    expect(abstract).to_contain_text("for $5 or $10 a run (code: https://example.org/code).")
    # `~` is a space that does not break.
    assert "tasks\u00a0at once" in abstract.text_content()
    # The text's dollar signs are no formula.
    expect(abstract.locator(".katex")).to_have_count(0)
    expect(abstract.get_by_role("link", name="https://example.org/code")).to_have_attribute(
        "href", "https://example.org/code"
    )

    live_server.create_user("ada")
    page.goto(live_server.url("/login?next=/papers/2506.00002"))
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Add a comment").fill(r"Is $a*b$ really $c*d$, with $$\sum_i x_i$$ and *this*, for $5 or $10?")
    page.get_by_role("button", name="Comment", exact=True).click()
    body = page.locator(".comment-body").first
    # Markdown took neither the stars of the maths for emphasis nor the prices for maths.
    expect(body.locator(".katex")).to_have_count(3)
    expect(body.locator(".katex-display")).to_have_count(1)
    expect(body.locator("em")).to_have_text("this")
    expect(body).to_contain_text("for $5 or $10?")


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
