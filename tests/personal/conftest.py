"""The personal layer is tested through the site: the web tests' fixtures (the app over HTTP, accounts, sign-in)."""

from tests.web.conftest import client_for, create_user, sign_in

__all__ = ["client_for", "create_user", "sign_in"]
