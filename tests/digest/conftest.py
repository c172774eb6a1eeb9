"""The web tests' fixtures, for the digest tests that drive the subscription pages over HTTP."""

from tests.web.conftest import client_for, create_user, sign_in  # noqa: F401
