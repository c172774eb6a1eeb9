"""The personal layer's tests drive the app over HTTP with the web tests' fixtures."""

from tests.web.conftest import add_papers, client_for, create_user, make_paper, sign_in  # noqa: F401
