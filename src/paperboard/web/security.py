"""Who is asking, and whether a state-changing request really comes from this site's own pages.

- The session cookie holds a random token (see `community.sessions`); it is HttpOnly, SameSite=Lax, and Secure
  when the request came over HTTPS, and always in production (unless `https_only` is off): a proxy that forgets to
  say `X-Forwarded-Proto: https` must not make the browser send the session over plain HTTP.
- A browser that signs in to an account gets a `pb_device` cookie naming that account, signed with the site's key:
  while an account is refused to browsers unknown to it (too many failures from many addresses,
  `community.login_limits`), its owner's browsers still sign in.
- Every form that changes something carries a CSRF token, an HMAC of the session token (or, before signing in, of
  a random `pb_csrf` cookie) under the site's secret key; htmx sends the same token in an `X-CSRF-Token` header.
  A POST whose token does not match changes nothing and gets 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from itsdangerous import BadSignature, URLSafeTimedSerializer

from paperboard.community.accounts import username_key
from paperboard.community.sessions import user_for_token
from paperboard.db import Database
from paperboard.db.models import User
from paperboard.web.deps import DatabaseDep, SettingsDep

SESSION_COOKIE = "pb_session"
DEVICE_COOKIE = "pb_device"
DEVICE_LIFETIME = timedelta(days=365)
_DEVICE_SALT = "paperboard-known-device"
# A 40-character name, a timestamp and a signature, in URL-safe base64, with room to spare.
_MAX_DEVICE_COOKIE_LENGTH = 200
ANONYMOUS_CSRF_COOKIE = "pb_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_MAX_TOKEN_LENGTH = 100


class SignInRequired(Exception):
    """Raised by a route that needs a signed-in user; the app answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def sign_in_path(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='/')}"


def _secure_cookies(request: Request) -> bool:
    return request.url.scheme == "https" or request.app.state.settings.enforces_https


def _set_private_cookie(request: Request, response: Response, name: str, value: str, lifetime: timedelta) -> None:
    """A cookie for this site's own requests only: never read by scripts, never sent by other sites' forms."""
    response.set_cookie(
        name,
        value,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure_cookies(request),
        path="/",
    )


def set_session_cookie(request: Request, response: Response, token: str, lifetime: timedelta) -> None:
    _set_private_cookie(request, response, SESSION_COOKIE, token, lifetime)


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=_secure_cookies(request), path="/")


def client_address(request: Request) -> str:
    """The address the per-client limits count against: the peer's, or the client's as a trusted proxy gave it
    (`PAPERBOARD_FORWARDED_ALLOW_IPS`)."""
    return request.client.host if request.client else "unknown"


def set_device_cookie(request: Request, response: Response, username: str) -> None:
    """Remember in this browser that it signed in to `username` (the last account it signed in to)."""
    value = URLSafeTimedSerializer(request.app.state.settings.signing_key).dumps(username_key(username), _DEVICE_SALT)
    _set_private_cookie(request, response, DEVICE_COOKIE, value, DEVICE_LIFETIME)


def is_known_device(request: Request, username: str) -> bool:
    """Whether this browser signed in to `username` before, within `DEVICE_LIFETIME`."""
    value = request.cookies.get(DEVICE_COOKIE)
    if not value or len(value) > _MAX_DEVICE_COOKIE_LENGTH:
        return False
    serializer = URLSafeTimedSerializer(request.app.state.settings.signing_key)
    try:
        account = serializer.loads(value, salt=_DEVICE_SALT, max_age=int(DEVICE_LIFETIME.total_seconds()))
    except BadSignature:
        return False
    return isinstance(account, str) and account == username_key(username)


def session_token(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return token if token and len(token) <= _MAX_TOKEN_LENGTH else None


async def current_user(request: Request, database: DatabaseDep) -> User | None:
    """The signed-in user, looked up once per request and kept on `request.state` for the templates.

    A coroutine, like the checks below, so that a visitor without a session cookie costs no trip to the thread pool
    (about 0.45 ms each here, docs/benchmarks.md): only the database look-up of a session goes there."""
    if not hasattr(request.state, "user"):
        token = session_token(request)
        request.state.user = await run_in_threadpool(_user_with_session, database, token) if token else None
    user: User | None = request.state.user
    return user


def _user_with_session(database: Database, token: str) -> User | None:
    with database.read_session() as session:
        return user_for_token(session, token)


OptionalUser = Annotated[User | None, Depends(current_user)]


async def require_user(request: Request, user: OptionalUser) -> User:
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # A form posted while signed out is sent back to the page it came from, not to a POST-only address.
        if request.method != "GET":
            path = same_site_referrer(request) or "/"
        raise SignInRequired(path)
    return user


RequiredUser = Annotated[User, Depends(require_user)]


async def require_moderator(user: RequiredUser) -> User:
    if not user.is_moderator:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only moderators may do this.")
    return user


ModeratorUser = Annotated[User, Depends(require_moderator)]


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, to redirect to; None for anything a browser could take elsewhere.

    A single `/` starts a path; `//evil.example` is another host, and browsers read `\\` as `/` and drop tabs and
    line breaks, so `/\\evil.example` and `/<tab>/evil.example` are other hosts too."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(character) < 0x20 or ord(character) == 0x7F for character in target):
        return None
    return target


def same_site_referrer(request: Request) -> str | None:
    """The path of the page of this site that the request came from (Referer), if it is one to redirect to."""
    referrer = request.headers.get("referer", "")
    origin = f"{request.url.scheme}://{request.url.netloc}"
    if referrer.startswith(origin + "/"):
        return local_path(referrer[len(origin) :])
    return None


def _csrf_for(secret: bytes, value: str) -> str:
    return hmac.new(secret, f"csrf:{value}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token this visitor's forms must send back. Before sign-in it rests on a random cookie, minted here if
    the visitor has none yet (the app then sets it on the response)."""
    secret: bytes = request.app.state.settings.signing_key
    token = session_token(request)
    if token:
        return _csrf_for(secret, token)
    anonymous = request.cookies.get(ANONYMOUS_CSRF_COOKIE) or getattr(request.state, "new_csrf_cookie", None)
    if not anonymous or len(anonymous) > _MAX_TOKEN_LENGTH:
        anonymous = secrets.token_urlsafe(24)
        request.state.new_csrf_cookie = anonymous
    return _csrf_for(secret, anonymous)


def attach_csrf_cookie(request: Request, response: Response) -> None:
    """Set the cookie that `csrf_token` minted while this response was being made, if it minted one."""
    minted = getattr(request.state, "new_csrf_cookie", None)
    if minted:
        response.set_cookie(
            ANONYMOUS_CSRF_COOKIE, minted, httponly=True, samesite="lax", secure=_secure_cookies(request), path="/"
        )


async def check_csrf(request: Request, settings: SettingsDep) -> None:
    """A dependency of every state-changing route: 403, before anything is changed, when the token is wrong."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    token = session_token(request) or request.cookies.get(ANONYMOUS_CSRF_COOKIE)
    if not sent or not token or not hmac.compare_digest(sent, _csrf_for(settings.signing_key, token)):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "This form has expired or did not come from this site. Reload the page and try again.",
        )


CsrfChecked = Depends(check_csrf)
