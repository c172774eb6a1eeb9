"""The site header at a laptop's window width, in Chromium: one line, even with an administrator's links."""

from playwright.sync_api import expect

from tests.conftest import PASSWORD

LAPTOP = {"width": 1280, "height": 800}


def test_an_administrators_header_keeps_to_one_line_on_a_laptop(live_server, browser):
    live_server.create_user("administrator", role="admin")
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    try:
        page.goto(live_server.url("/login"))
        page.get_by_label("User name").fill("administrator")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()

        for path in ("/", "/admin"):
            page.goto(live_server.url(path))
            boxes = {
                part: page.locator(f".site-nav {part}").bounding_box()
                for part in (".brand", ".site-links", ".site-search", ".user-menu")
            }
            nav = page.locator(".site-nav").bounding_box()
            # One line: every part of the navigation within the height of its tallest part.
            assert nav["height"] <= max(box["height"] for box in boxes.values()) + 1, (path, nav, boxes)
    finally:
        context.close()
