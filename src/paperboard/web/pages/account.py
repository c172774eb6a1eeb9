"""Accounts on the web: sign up, sign in, sign out, and the account page where the password is changed, the digest
subscription connected to the account is managed (subscribing is `pages.subscriptions`), and API tokens are
managed (`pages.api_tokens`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperboard.clock import utcnow
from paperboard.community.accounts import (
    MAX_DISPLAY_NAME_LENGTH,
    MAX_PASSWORD_LENGTH,
    AccountError,
    authenticate,
    change_password,
    create_user,
)
from paperboard.community.api_tokens import list_tokens
from paperboard.community.login_limits import LoginLimits, record_attempt, seconds_until_allowed
from paperboard.community.sessions import end_other_sessions, end_session, start_session
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import User
from paperboard.digest.subscriptions import InvalidPreferences, subscription_for_user, unsubscribe, update_preferences
from paperboard.web.deps import DatabaseDep, SettingsDep, app_settings
from paperboard.web.pages.subscriptions import PreferenceForm, PreferenceFormDep, as_sentence, preference_context
from paperboard.web.security import (
    CsrfChecked,
    OptionalUser,
    RequiredUser,
    clear_session_cookie,
    local_path,
    session_token,
    set_session_cookie,
)
from paperboard.web.templating import templates

router = APIRouter()

Username = Annotated[str, Form(max_length=100)]
Password = Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)]
NextPath = Annotated[str, Form(max_length=2000)]


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a path on this site, never another site."""
    return local_path(path) or "/"


def _login_limits(settings: Settings) -> LoginLimits:
    return LoginLimits(
        failures_per_account=settings.login_failures_per_account,
        failures_per_address=settings.login_failures_per_address,
        window=timedelta(minutes=settings.login_window_minutes),
    )


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _signed_in_redirect(request: Request, settings: Settings, token: str, next_path: str) -> Response:
    response = RedirectResponse(safe_next(next_path), status_code=status.HTTP_303_SEE_OTHER)
    set_session_cookie(request, response, token, timedelta(days=settings.session_days))
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
def signup(
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
        with database.session() as session:
            user = create_user(session, username, password, display_name=display_name)
            token = start_session(session, user, timedelta(days=settings.session_days))
    except AccountError as error:
        return _form_page(
            request,
            "account/signup.html",
            status_code=status.HTTP_400_BAD_REQUEST,
            next=safe_next(next),
            error=str(error),
            username=username,
            display_name=display_name,
        )
    return _signed_in_redirect(request, settings, token, next)


@router.get("/login", name="login")
def login_form(request: Request, user: OptionalUser, next: str = "/") -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    return _form_page(request, "account/login.html", next=safe_next(next), error=None, username="")


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    username: Username,
    password: Password,
    next: NextPath = "/",
) -> Response:
    address = _client_address(request)
    limits = _login_limits(settings)
    with database.session() as session:
        wait = seconds_until_allowed(session, limits, username, address)
        if wait > 0:
            minutes = max(1, round(wait / 60))
            return _form_page(
                request,
                "account/login.html",
                status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(int(wait) + 1)},
                next=safe_next(next),
                error=f"Too many failed attempts. Try again in about {minutes} minute{'s' if minutes != 1 else ''}.",
                username=username,
            )
        user = authenticate(session, username, password)
        record_attempt(session, username, address, succeeded=user is not None)
        token = start_session(session, user, timedelta(days=settings.session_days)) if user else None
    if token is None:
        return _form_page(
            request,
            "account/login.html",
            status_code=status.HTTP_400_BAD_REQUEST,
            next=safe_next(next),
            error="That name and password do not match an account.",
            username=username,
        )
    return _signed_in_redirect(request, settings, token, next)


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
    """The account page, with the user's API tokens and subscription; `context` holds what a form's answer adds to
    it."""
    with database.read_session() as session:
        tokens = list_tokens(session, user)
        subscription = subscription_for_user(session, user)
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
    }
    return _form_page(
        request,
        "account/settings.html",
        status_code=status_code,
        tokens=tokens,
        subscription=subscription,
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
) -> Response:
    return account_settings(
        request,
        database,
        user,
        changed=changed,
        revoked=revoked,
        subscription_saved=subscription_saved,
        unsubscribed=unsubscribed,
    )


@router.post("/account/password", name="change_password", dependencies=[CsrfChecked])
def change_password_form(
    request: Request,
    database: DatabaseDep,
    user: RequiredUser,
    current_password: Password,
    new_password: Password,
    new_password_again: Password,
) -> Response:
    try:
        if new_password != new_password_again:
            raise AccountError("The two new passwords differ.")
        with database.session() as session:
            stored = session.merge(user)
            change_password(session, stored, current_password, new_password)
            # Whoever else holds a session, perhaps the reason for the change, is signed out.
            end_other_sessions(session, stored, keep_token=session_token(request))
    except AccountError as error:
        return account_settings(request, database, user, status_code=status.HTTP_400_BAD_REQUEST, error=str(error))
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
