"""Subscribing to the digests on the web, and the pages the links in their mails open: confirm, manage, unsubscribe.

Every answer about an address is the same whatever that address's state (`digest.subscriptions`), and every page a
link opens shows a button: a GET changes nothing, because mail scanners follow links before their readers do. The
footer of every page posts only an address to the subscribe form (`/subscribe/start`): the pages that carry it are
cached for every visitor alike, so they can hold no one's CSRF token, and that post changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse

from paperboard.clock import utcnow
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Subscriber, User
from paperboard.digest.addresses import MAX_ADDRESS_LENGTH, InvalidAddress
from paperboard.digest.delivery import send_one
from paperboard.digest.links import ExpiredLink, InvalidLink, LinkSigner
from paperboard.digest.subscriptions import (
    LINK_MAIL_INTERVAL,
    MAX_CATEGORIES,
    MAX_KEYWORD_LENGTH,
    MAX_KEYWORDS,
    InvalidPreferences,
    Preferences,
    TooManyRequests,
    confirm,
    parse_preferences,
    request_manage_link,
    subscribe,
    subscriber_for_link,
    unsubscribe,
    update_preferences,
)
from paperboard.web.deps import DatabaseDep, SettingsDep
from paperboard.web.security import CsrfChecked, OptionalUser, check_csrf, client_address, sign_in_path
from paperboard.web.templating import templates

router = APIRouter()

# Longer than any address (`MAX_ADDRESS_LENGTH`), so that an over-long one gets the service's own explanation.
MAX_ADDRESS_FIELD = 1000
# Room for the most categories and keywords a subscription keeps, with their separators.
MAX_CATEGORIES_FIELD = 2000
MAX_KEYWORDS_FIELD = 4000
# RFC 8058: the body a mail client posts to the `List-Unsubscribe` address when its reader unsubscribes.
ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"

LINK_ERRORS = (InvalidLink, ExpiredLink)
UpvotesOption = Literal["offer", "sign_in"]


@dataclass(frozen=True, slots=True)
class PreferenceForm:
    """Preferences as the forms show them: the text as typed, so that a refused form comes back as it was sent."""

    frequency: str = "daily"
    categories: str = ""
    keywords: str = ""
    similar_to_upvoted: bool = False

    @classmethod
    def of(cls, subscriber: Subscriber) -> PreferenceForm:
        return cls(
            subscriber.frequency,
            ", ".join(subscriber.categories),
            ", ".join(subscriber.keywords),
            subscriber.similar_to_upvoted,
        )

    def parsed(self) -> Preferences:
        """Raises `InvalidPreferences`."""
        return parse_preferences(
            self.frequency, self.categories, self.keywords, similar_to_upvoted=self.similar_to_upvoted
        )


def preference_form(
    frequency: Annotated[str, Form(max_length=16)] = "daily",
    categories: Annotated[str, Form(max_length=MAX_CATEGORIES_FIELD)] = "",
    keywords: Annotated[str, Form(max_length=MAX_KEYWORDS_FIELD)] = "",
    similar_to_upvoted: Annotated[bool, Form()] = False,
) -> PreferenceForm:
    return PreferenceForm(frequency, categories, keywords, similar_to_upvoted)


PreferenceFormDep = Annotated[PreferenceForm, Depends(preference_form)]
AddressField = Annotated[str, Form(max_length=MAX_ADDRESS_FIELD)]


def preference_context(settings: Settings) -> dict[str, object]:
    """What the preference fields of every subscription form show besides the values (`_preferences.html`)."""
    at = f"{settings.digest_hour:02d}:00 ({settings.digest_time_zone})"
    return {
        "frequency_labels": {
            "daily": f"Daily, on weekdays at {at}",
            "weekly": f"Weekly, on {settings.digest_weekly_day.capitalize()}s at {at}",
        },
        "limits": {
            "categories": MAX_CATEGORIES,
            "keywords": MAX_KEYWORDS,
            "keyword_length": MAX_KEYWORD_LENGTH,
            "categories_field": MAX_CATEGORIES_FIELD,
            "keywords_field": MAX_KEYWORDS_FIELD,
            "address": MAX_ADDRESS_LENGTH,
        },
    }


def as_sentence(error: Exception) -> str:
    """A service's explanation ("enter a mail address") as the forms show it."""
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _send_soon(
    background_tasks: BackgroundTasks, database: Database, settings: Settings, outbox_id: int | None
) -> None:
    """Send a link mail once the answer has gone, so that it arrives at once when the mail server is up (the
    worker's sender retries it otherwise) and the answer takes as long whether or not a mail was due."""
    if outbox_id is not None:
        background_tasks.add_task(send_one, database, settings, outbox_id)


def _page(
    request: Request,
    template: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: object,
) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, status_code=status_code, headers=headers)


def _too_many_requests(refusal: TooManyRequests) -> tuple[str, dict[str, str]]:
    """The sentence and headers of a 429 answer: about this client, never about the address it typed."""
    minutes = max(1, round(refusal.wait_seconds / 60))
    sentence = (
        f"Too many subscription requests from your address. Try again in about {minutes} "
        f"minute{'s' if minutes != 1 else ''}."
    )
    return sentence, {"Retry-After": str(int(refusal.wait_seconds) + 1)}


def _subscribe_page(
    request: Request,
    settings: Settings,
    user: User | None,
    *,
    email: str = "",
    preferences: PreferenceForm | None = None,
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    upvotes: UpvotesOption = "offer" if user is not None else "sign_in"
    return _page(
        request,
        "subscriptions/subscribe.html",
        status_code,
        headers,
        email=email,
        preferences=preferences or PreferenceForm(),
        upvotes=upvotes,
        sign_in=sign_in_path(request.url_for("subscribe_form").path),
        error=error,
        **preference_context(settings),
    )


def _sent_page(request: Request, email: str, reason: Literal["subscribe", "link"]) -> HTMLResponse:
    return _page(
        request,
        "subscriptions/sent.html",
        email=email,
        reason=reason,
        interval_minutes=int(LINK_MAIL_INTERVAL.total_seconds() // 60),
    )


def _fresh_link_page(
    request: Request,
    problem: InvalidLink | ExpiredLink | None,
    *,
    email: str = "",
    error: str | None = None,
    status_code: int = status.HTTP_400_BAD_REQUEST,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A link that cannot be used (`problem`), or a refused request for a fresh one: the form to ask for one."""
    return _page(
        request,
        "subscriptions/fresh_link.html",
        status_code,
        headers,
        problem="expired" if isinstance(problem, ExpiredLink) else "invalid" if problem else None,
        email=email,
        max_address_length=MAX_ADDRESS_LENGTH,
        error=error,
    )


def _link_path(request: Request, name: str, token: str) -> str:
    """A link within the site to the page `name` with this token (mails make theirs from `PAPERBOARD_BASE_URL`)."""
    return f"{request.url_for(name).path}?{urlencode({'token': token})}"


@router.get("/subscribe", name="subscribe_form")
def subscribe_form(request: Request, settings: SettingsDep, user: OptionalUser) -> HTMLResponse:
    return _subscribe_page(request, settings, user)


@router.post("/subscribe/start", name="start_subscription")
def start_subscription(
    request: Request, settings: SettingsDep, user: OptionalUser, email: AddressField = ""
) -> HTMLResponse:
    """The footer's form: the subscribe form with the address filled in, to choose the preferences."""
    return _subscribe_page(request, settings, user, email=email.strip())


@router.get("/subscribe/start")
def start_subscription_reloaded(request: Request) -> RedirectResponse:
    """The address of the page the footer's form led to, reloaded or opened again: that page is the form."""
    return RedirectResponse(request.url_for("subscribe_form").path, status_code=status.HTTP_303_SEE_OTHER)


@router.post("/subscribe", name="subscribe", dependencies=[CsrfChecked])
def subscribe_address(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    background_tasks: BackgroundTasks,
    user: OptionalUser,
    preferences: PreferenceFormDep,
    email: AddressField = "",
) -> HTMLResponse:
    try:
        chosen = preferences.parsed()
        with database.session() as session:
            outbox_id = subscribe(
                session, settings, email, chosen, user=user, client=client_address(request), now=utcnow()
            )
    except TooManyRequests as refusal:
        sentence, headers = _too_many_requests(refusal)
        return _subscribe_page(
            request,
            settings,
            user,
            email=email,
            preferences=preferences,
            error=sentence,
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers=headers,
        )
    except (InvalidAddress, InvalidPreferences) as error:
        return _subscribe_page(
            request,
            settings,
            user,
            email=email,
            preferences=preferences,
            error=as_sentence(error),
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    _send_soon(background_tasks, database, settings, outbox_id)
    return _sent_page(request, email.strip(), "subscribe")


@router.post("/subscriptions/link", name="request_subscription_link", dependencies=[CsrfChecked])
def request_link(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    background_tasks: BackgroundTasks,
    email: AddressField = "",
) -> HTMLResponse:
    """The form of a page about an expired or invalid link: a fresh link, mailed only if the address is subscribed,
    with the same answer either way."""
    try:
        with database.session() as session:
            outbox_id = request_manage_link(session, settings, email, client=client_address(request), now=utcnow())
    except TooManyRequests as refusal:
        sentence, headers = _too_many_requests(refusal)
        return _fresh_link_page(
            request,
            None,
            email=email,
            error=sentence,
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers=headers,
        )
    except InvalidAddress as error:
        return _fresh_link_page(request, None, email=email, error=as_sentence(error))
    _send_soon(background_tasks, database, settings, outbox_id)
    return _sent_page(request, email.strip(), "link")


@router.get("/subscriptions/confirm", name="confirm_subscription_form")
def confirm_form(
    request: Request, database: DatabaseDep, settings: SettingsDep, user: OptionalUser, token: str = ""
) -> HTMLResponse:
    try:
        with database.read_session() as session:
            subscriber = subscriber_for_link(session, settings, "confirm", token)
    except LINK_ERRORS as problem:
        return _fresh_link_page(request, problem)
    return _confirm_page(request, settings, subscriber, user, token, just_confirmed=False)


@router.post("/subscriptions/confirm", name="confirm_subscription", dependencies=[CsrfChecked])
def confirm_subscription(
    request: Request, database: DatabaseDep, settings: SettingsDep, user: OptionalUser, token: str = ""
) -> HTMLResponse:
    try:
        with database.session() as session:
            subscriber = subscriber_for_link(session, settings, "confirm", token)
            confirm(session, subscriber.id, user=user, now=utcnow())
    except LINK_ERRORS as problem:
        return _fresh_link_page(request, problem)
    return _confirm_page(request, settings, subscriber, user, token, just_confirmed=True)


def _confirm_page(
    request: Request, settings: Settings, subscriber: Subscriber, user: User | None, token: str, *, just_confirmed: bool
) -> HTMLResponse:
    here = _link_path(request, "confirm_subscription", token)
    return _page(
        request,
        "subscriptions/confirm.html",
        subscriber=subscriber,
        just_confirmed=just_confirmed,
        connected=user is not None and subscriber.user_id == user.id,
        action=here,
        manage=_link_path(request, "manage_subscription", LinkSigner(settings).token("manage", subscriber.id)),
        sign_in=sign_in_path(here),
        **preference_context(settings),
    )


@router.get("/subscriptions/manage", name="manage_subscription")
def manage_page(
    request: Request, database: DatabaseDep, settings: SettingsDep, user: OptionalUser, token: str = ""
) -> HTMLResponse:
    try:
        with database.read_session() as session:
            subscriber = subscriber_for_link(session, settings, "manage", token)
    except LINK_ERRORS as problem:
        return _fresh_link_page(request, problem)
    return _manage_page(request, settings, subscriber, user, token, PreferenceForm.of(subscriber))


@router.post("/subscriptions/manage", name="save_subscription", dependencies=[CsrfChecked])
def save_preferences(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    user: OptionalUser,
    preferences: PreferenceFormDep,
    token: str = "",
) -> HTMLResponse:
    error = None
    try:
        with database.session() as session:
            subscriber = subscriber_for_link(session, settings, "manage", token)
            try:
                update_preferences(session, subscriber.id, preferences.parsed(), user=user)
            except InvalidPreferences as refusal:
                error = as_sentence(refusal)
    except LINK_ERRORS as problem:
        return _fresh_link_page(request, problem)
    if error:
        return _manage_page(
            request,
            settings,
            subscriber,
            user,
            token,
            preferences,
            error=error,
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    return _manage_page(request, settings, subscriber, user, token, PreferenceForm.of(subscriber), saved=True)


def _manage_page(
    request: Request,
    settings: Settings,
    subscriber: Subscriber,
    user: User | None,
    token: str,
    preferences: PreferenceForm,
    *,
    saved: bool = False,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    upvotes: UpvotesOption = "offer" if user is not None or subscriber.user_id is not None else "sign_in"
    return _page(
        request,
        "subscriptions/manage.html",
        status_code,
        subscriber=subscriber,
        preferences=preferences,
        upvotes=upvotes,
        connected=user is not None and subscriber.user_id == user.id,
        action=_link_path(request, "save_subscription", token),
        unsubscribe=_link_path(request, "unsubscribe", token),
        sign_in=sign_in_path(_link_path(request, "manage_subscription", token)),
        saved=saved,
        error=error,
        **preference_context(settings),
    )


@router.get("/subscriptions/unsubscribe", name="unsubscribe_form")
def unsubscribe_form(request: Request, database: DatabaseDep, settings: SettingsDep, token: str = "") -> HTMLResponse:
    try:
        with database.read_session() as session:
            subscriber = subscriber_for_link(session, settings, "manage", token)
    except LINK_ERRORS as problem:
        return _fresh_link_page(request, problem)
    return _unsubscribe_page(request, subscriber, token)


async def _one_click_or_csrf(request: Request, settings: SettingsDep) -> None:
    """RFC 8058: a mail client posts `List-Unsubscribe=One-Click` to the address in the mail's `List-Unsubscribe`
    header, without the reader's cookies, so without a CSRF token: the signed token in that address is the proof.
    Any other post is this site's form, checked like every form."""
    content_type = request.headers.get("content-type", "")
    is_form = content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
    if is_form and (await request.form()).get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE:
        return
    await check_csrf(request, settings)


@router.post("/subscriptions/unsubscribe", name="unsubscribe", dependencies=[Depends(_one_click_or_csrf)])
def unsubscribe_by_link(
    request: Request, database: DatabaseDep, settings: SettingsDep, token: str = ""
) -> HTMLResponse:
    try:
        with database.session() as session:
            subscriber = subscriber_for_link(session, settings, "manage", token)
            unsubscribe(session, subscriber.id, now=utcnow())
    except LINK_ERRORS as problem:
        return _fresh_link_page(request, problem)
    return _unsubscribe_page(request, subscriber, token)


def _unsubscribe_page(request: Request, subscriber: Subscriber, token: str) -> HTMLResponse:
    return _page(
        request,
        "subscriptions/unsubscribe.html",
        subscriber=subscriber,
        action=_link_path(request, "unsubscribe", token),
        manage=_link_path(request, "manage_subscription", token),
    )
