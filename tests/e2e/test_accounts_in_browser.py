"""Signing up, out and in again in Chromium."""

from playwright.sync_api import expect

from tests.conftest import PASSWORD


def test_sign_up_sign_out_and_sign_in(live_server, page):
    page.goto(live_server.url("/"))
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Display name").fill("Ada Lovelace")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_role("link", name="ada")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()

    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That name and password do not match an account.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="ada").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("Ada Lovelace")
