"""Accounts on the web: sign up, sign in, sign out, and the account page where the password is changed, the digest
subscription connected to the account is managed (subscribing is `pages.subscriptions`), and API tokens are
managed (`pages.api_tokens`), the user's claims of authorship are listed (`pages.claims`), and the address of the
private "for you" feed (`pages.private_feeds`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Annotated, TypeVar

import anyio
from fastapi import APIRouter, Form, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperboard.clock import utcnow
from paperboard.community.accounts import MAX_DISPLAY_NAME_LENGTH, MAX_PASSWORD_LENGTH, AccountError
from paperboard.community.api_tokens import list_tokens
from paperboard.community.login_limits import LoginLimits, TooManyAttempts
from paperboard.community.passwords import change_password, sign_in, sign_up
from paperboard.community.sessions import end_session
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import User
from paperboard.digest.subscriptions import InvalidPreferences, subscription_for_user, unsubscribe, update_preferences
from paperboard.personal.claims import claims_of
from paperboard.personal.private_feeds import private_feed_made_at
from paperboard.web.deps import DatabaseDep, SettingsDep, app_settings
from paperboard.web.pages.subscriptions import PreferenceForm, PreferenceFormDep, as_sentence, preference_context
from paperboard.web.security import (
    CsrfChecked,
    OptionalUser,
    RequiredUser,
    clear_session_cookie,
    client_address,
    is_known_device,
    local_path,
    session_token,
    set_device_cookie,
    set_session_cookie,
)
from paperboard.web.templating import templates

router = APIRouter()
_T = TypeVar("_T")

Username = Annotated[str, Form(max_length=100)]
Password = Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)]
NextPath = Annotated[str, Form(max_length=2000)]

# Threads for the routes that run Argon2, apart from the pool that serves every other page: a flood of sign-ins
# waits for its turn at Argon2 (one at a time per process, `community.accounts`) in these, while pages keep theirs.
PASSWORD_THREADS = 64


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a path on this site, never another site."""
    return local_path(path) or "/"


def _login_limits(settings: Settings) -> LoginLimits:
    return LoginLimits(
        failures_per_account_and_address=settings.login_failures_per_account_and_address,
        failures_per_account=settings.login_failures_per_account,
        failures_per_address=settings.login_failures_per_address,
        attempts_per_address_per_minute=settings.sign_ins_per_address_per_minute,
        window=timedelta(minutes=settings.login_window_minutes),
    )


async def _run_password_work(request: Request, work: Callable[[], _T]) -> _T:
    """Run `work`, which runs Argon2, in the threads kept for it (`PASSWORD_THREADS`), made once per app."""
    state = request.app.state
    if not hasattr(state, "password_threads"):
        state.password_threads = anyio.CapacityLimiter(PASSWORD_THREADS)
    return await anyio.to_thread.run_sync(work, limiter=state.password_threads)


@dataclass(frozen=True, slots=True)
class Refusal:
    """What a form's page says when it refuses: its status, sentence and headers."""

    status_code: int
    error: str
    headers: dict[str, str] | None = None

    @classmethod
    def of(cls, error: AccountError | TooManyAttempts) -> Refusal:
        if isinstance(error, AccountError):
            return cls(status.HTTP_400_BAD_REQUEST, str(error))
        return cls(
            status.HTTP_429_TOO_MANY_REQUESTS,
            _too_many_attempts(error),
            {"Retry-After": str(int(error.wait_seconds) + 1)},
        )


def _too_many_attempts(refusal: TooManyAttempts) -> str:
    minutes = max(1, round(refusal.wait_seconds / 60))
    later = f"Try again in about {minutes} minute{'s' if minutes != 1 else ''}."
    if refusal.limited_by == "account":
        sentence = (
            "This account has had too many failed sign-ins from elsewhere, so for now it can be signed in to only "
            f"from a browser that signed in to it before. {later}"
        )
    else:
        sentence = f"Too many attempts from your address. {later}"
    return sentence


def _signed_in_redirect(request: Request, settings: Settings, token: str, username: str, next_path: str) -> Response:
    response = RedirectResponse(safe_next(next_path), status_code=status.HTTP_303_SEE_OTHER)
    set_session_cookie(request, response, token, timedelta(days=settings.session_days))
    set_device_cookie(request, response, username)
    return response


def _form_page(
    request: Request, template: str, *, status_code: int = 200, headers: dict[str, str] | None = None, **context: object
) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, status_code=status_code, headers=headers)


@router.get("/signup", name="signup")
def signup_form(request: Request, user: OptionalUser, next: str = "/") -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    return _form_page(request, "account/signup.html", next=safe_next(next), error=None, username="", display_name="")


@router.post("/signup", dependencies=[CsrfChecked])
async def signup(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    username: Username,
    password: Password,
    password_again: Password,
    display_name: Annotated[str, Form(max_length=MAX_DISPLAY_NAME_LENGTH)] = "",
    next: NextPath = "/",
) -> Response:
    try:
        if password != password_again:
            raise AccountError("The two passwords differ.")
        work = partial(
            sign_up,
            database,
            username,
            password,
            display_name=display_name,
            address=client_address(request),
            sign_ups_per_hour=settings.sign_ups_per_address_per_hour,
            lifetime=timedelta(days=settings.session_days),
        )
        token = await _run_password_work(request, work)
    except (AccountError, TooManyAttempts) as error:
        refusal = Refusal.of(error)
        return _form_page(
            request,
            "account/signup.html",
            status_code=refusal.status_code,
            headers=refusal.headers,
            next=safe_next(next),
            error=refusal.error,
            username=username,
            display_name=display_name,
        )
    return _signed_in_redirect(request, settings, token, username, next)


@router.get("/login", name="login")
def login_form(request: Request, user: OptionalUser, next: str = "/") -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    return _form_page(request, "account/login.html", next=safe_next(next), error=None, username="")


@router.post("/login", dependencies=[CsrfChecked])
async def login(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    username: Username,
    password: Password,
    next: NextPath = "/",
) -> Response:
    work = partial(
        sign_in,
        database,
        _login_limits(settings),
        username,
        password,
        address=client_address(request),
        known_device=is_known_device(request, username),
        lifetime=timedelta(days=settings.session_days),
    )
    try:
        token = await _run_password_work(request, work)
    except TooManyAttempts as error:
        refusal = Refusal.of(error)
        return _form_page(
            request,
            "account/login.html",
            status_code=refusal.status_code,
            headers=refusal.headers,
            next=safe_next(next),
            error=refusal.error,
            username=username,
        )
    if token is None:
        return _form_page(
            request,
            "account/login.html",
            status_code=status.HTTP_400_BAD_REQUEST,
            next=safe_next(next),
            error="That name and password do not match an account.",
            username=username,
        )
    return _signed_in_redirect(request, settings, token, username, next)


@router.post("/logout", name="logout", dependencies=[CsrfChecked])
def logout(request: Request, database: DatabaseDep) -> Response:
    token = session_token(request)
    if token:
        with database.session() as session:
            end_session(session, token)
    response = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    clear_session_cookie(request, response)
    return response


def account_settings(
    request: Request, database: Database, user: User, *, status_code: int = 200, **context: object
) -> HTMLResponse:
    """The account page, with the user's API tokens, subscription and claims of authorship; `context` holds what a
    form's answer adds to it."""
    with database.read_session() as session:
        tokens = list_tokens(session, user)
        subscription = subscription_for_user(session, user)
        claims = claims_of(session, user)
        private_feed = private_feed_made_at(session, user.id)
    page: dict[str, object] = {
        "error": None,
        "changed": False,
        "token_error": None,
        "new_token": None,
        "token_name": "",
        "revoked": False,
        "subscription_form": PreferenceForm.of(subscription) if subscription else PreferenceForm(),
        "subscription_error": None,
        "subscription_saved": False,
        "unsubscribed": False,
        "new_private_feed_url": None,
        "private_feed_revoked": False,
    }
    return _form_page(
        request,
        "account/settings.html",
        status_code=status_code,
        tokens=tokens,
        subscription=subscription,
        claims=claims,
        private_feed_made_at=private_feed,
        **preference_context(app_settings(request)),
        **(page | context),
    )


@router.get("/account", name="account")
def account_page(
    request: Request,
    database: DatabaseDep,
    user: RequiredUser,
    changed: bool = False,
    revoked: bool = False,
    subscription_saved: bool = False,
    unsubscribed: bool = False,
    feed_revoked: bool = False,
) -> Response:
    return account_settings(
        request,
        database,
        user,
        changed=changed,
        revoked=revoked,
        subscription_saved=subscription_saved,
        unsubscribed=unsubscribed,
        private_feed_revoked=feed_revoked,
    )


@router.post("/account/password", name="change_password", dependencies=[CsrfChecked])
async def change_password_form(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    user: RequiredUser,
    current_password: Password,
    new_password: Password,
    new_password_again: Password,
) -> Response:
    try:
        if new_password != new_password_again:
            raise AccountError("The two new passwords differ.")
        work = partial(
            change_password,
            database,
            _login_limits(settings),
            user,
            current_password,
            new_password,
            address=client_address(request),
            keep_session=session_token(request),
        )
        await _run_password_work(request, work)
    except (AccountError, TooManyAttempts) as error:
        refusal = Refusal.of(error)
        page = await run_in_threadpool(
            partial(account_settings, request, database, user, status_code=refusal.status_code, error=refusal.error)
        )
        page.headers.update(refusal.headers or {})
        return page
    return RedirectResponse("/account?changed=true", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/account/subscription", name="save_account_subscription", dependencies=[CsrfChecked])
def save_subscription(
    request: Request, database: DatabaseDep, user: RequiredUser, preferences: PreferenceFormDep
) -> Response:
    """The preferences of the subscription connected to the account: connected through a mailed link, so the
    account may change them without one."""
    try:
        chosen = preferences.parsed()
    except InvalidPreferences as error:
        return account_settings(
            request,
            database,
            user,
            status_code=status.HTTP_400_BAD_REQUEST,
            subscription_form=preferences,
            subscription_error=as_sentence(error),
        )
    with database.session() as session:
        subscription = subscription_for_user(session, user)
        if subscription is not None:
            update_preferences(session, subscription.id, chosen, user=user)
    # Without a subscription (cancelled in another tab) there was nothing to save: the page offers to subscribe.
    target = "/account?subscription_saved=true#subscription" if subscription else "/account#subscription"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.post("/account/subscription/unsubscribe", name="cancel_account_subscription", dependencies=[CsrfChecked])
def cancel_subscription(database: DatabaseDep, user: RequiredUser) -> Response:
    with database.session() as session:
        subscription = subscription_for_user(session, user)
        if subscription is not None:
            unsubscribe(session, subscription.id, now=utcnow())
    return RedirectResponse("/account?unsubscribed=true#subscription", status_code=status.HTTP_303_SEE_OTHER)
