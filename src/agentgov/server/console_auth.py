"""Signing in to the console: the user's API key in a cookie, and a form token on every change.

The key is pasted once into ``/console/sign-in`` and kept in a cookie that scripts cannot read
(HttpOnly), that no other site's request carries (SameSite=Strict), and that only the console's pages
receive (Path=/console). It is checked against the key store on every request, so a revoked key ends
the session at once. The key is never written into a page or a log.

Every form that changes something carries a token bound to the session: an HMAC of the key id keyed
by the key itself. Only a page rendered for this session knows it; it is the same in every process of
the platform (a replica, a restarted server), so a page stays usable wherever the next request lands.
A missing or wrong token is refused (403) before anything is changed. A form whose ``Origin`` names
another site is refused too, sign-in included (login CSRF).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agentgov.errors import AgentGovError, Forbidden, Unauthenticated
from agentgov.identity.apikeys import Principal
from agentgov.server.console_render import error_page, pick_lang, problem_text, render
from agentgov.server.deps import services

__all__ = [
    "COOKIE",
    "COOKIE_PATH",
    "BadKey",
    "ConsoleSession",
    "ConsoleSettings",
    "CrossOrigin",
    "FormTokenRefused",
    "SignInRequired",
    "form_session",
    "read_session",
    "router",
    "sign_in_redirect",
]

router = APIRouter(include_in_schema=False)

COOKIE = "agentgov_console"
COOKIE_PATH = "/console"
_CSRF_CONTEXT = b"agentgov console form token v1\x00"
# Where a successful sign-in may lead: the console's own pages, never a URL the request names.
_NEXT_PAGES = ("/console/approvals", "/console/feed")


@dataclass(frozen=True)
class ConsoleSettings:
    # The cookie holds the user's key: it ends with the browser session, and at the latest after a
    # working day, so a key left in a shared browser does not stay usable for long.
    session_max_age_s: int = 8 * 3600
    # A pasted key is a few dozen characters; anything longer is not a key and is not looked up.
    max_key_chars: int = 200


SETTINGS = ConsoleSettings()


class SignInRequired(Unauthenticated):
    code = "console_signed_out"
    title = "Sign in first"


class BadKey(Unauthenticated):
    code = "console_bad_key"
    title = "Sign-in failed"


class FormTokenRefused(Forbidden):
    code = "console_form_token"
    title = "Form refused"


class CrossOrigin(Forbidden):
    code = "console_cross_origin"
    title = "Form refused"


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """Who is signed in, and the token their forms carry. Holds no key."""

    principal: Principal
    csrf: str

    @property
    def name(self) -> str:
        return self.principal.subject or self.principal.role.value


def form_token(key: str, key_id: str) -> str:
    """HMAC-SHA256 of the key id, keyed by (a hash of) the key: unforgeable without the cookie."""
    secret = hashlib.sha256(key.encode("utf-8")).digest()
    return hmac.new(secret, _CSRF_CONTEXT + key_id.encode("utf-8"), hashlib.sha256).hexdigest()


def read_session(request: Request) -> ConsoleSession | None:
    """The session of the cookie; None without one or when its key is unknown or revoked."""
    key = request.cookies.get(COOKIE)
    if not key or len(key) > SETTINGS.max_key_chars:
        return None
    try:
        principal = services(request).keys.authenticate(key)
    except Unauthenticated:
        return None
    return ConsoleSession(principal=principal, csrf=form_token(key, principal.key_id))


def _same_origin(request: Request) -> None:
    """Refuse a form posted from another site: its Origin must be this server's (RFC 6454)."""
    origin = request.headers.get("origin")
    if origin is None:  # not sent by every client; the SameSite cookie and the form token still hold
        return
    public = urlsplit(services(request).settings.public_base_url)
    here = request.headers.get("host", "")
    got = urlsplit(origin)
    if got.scheme not in ("http", "https") or got.netloc not in (here, public.netloc):
        raise CrossOrigin("the form was sent from another origin")


def form_session(request: Request, csrf: str) -> ConsoleSession:
    """The session of a form that changes something, or raise: 401 signed out, 403 bad token."""
    _same_origin(request)
    session = read_session(request)
    if session is None:
        raise SignInRequired("sign in to the console first")
    if not hmac.compare_digest(csrf.encode("utf-8"), session.csrf.encode("utf-8")):
        raise FormTokenRefused("missing or wrong form token")
    return session


def sign_in_redirect(lang: str, next_page: str) -> RedirectResponse:
    query = urlencode({"lang": pick_lang(lang), "next": next_page})
    return RedirectResponse(f"/console/sign-in?{query}", status_code=303)


def _sign_in_page(
    lang: str, next_page: str, *, error: AgentGovError | None = None, notice: bool = False
) -> HTMLResponse:
    message = problem_text(lang, error)[1] if error else None
    return render(
        "sign_in.html",
        lang,
        status_code=error.status if error else 200,
        private=True,
        error=message,
        notice=notice,
        next=next_page if next_page in _NEXT_PAGES else _NEXT_PAGES[0],
        here="/console/sign-in",
    )


@router.get("/console/sign-in", response_class=HTMLResponse)
def sign_in_form(
    next_page: Annotated[str, Query(alias="next")] = _NEXT_PAGES[0],
    lang: str = "zh",
    signed_out: str = "",
) -> HTMLResponse:
    return _sign_in_page(lang, next_page, notice=signed_out == "true")


@router.post("/console/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    key: Annotated[str, Form()] = "",
    next_page: Annotated[str, Form(alias="next")] = _NEXT_PAGES[0],
    lang: Annotated[str, Form()] = "zh",
) -> Response:
    lang = pick_lang(lang)
    try:
        _same_origin(request)
        if not key.strip() or len(key) > SETTINGS.max_key_chars:
            raise BadKey("no API key")
        try:
            services(request).keys.authenticate(key.strip())
        except Unauthenticated as exc:
            raise BadKey("unknown or revoked API key") from exc
    except BadKey as exc:
        return _sign_in_page(lang, next_page, error=exc)
    except AgentGovError as exc:
        return error_page(lang, exc, here="/console/sign-in")
    target = next_page if next_page in _NEXT_PAGES else _NEXT_PAGES[0]
    response = RedirectResponse(f"{target}?{urlencode({'lang': lang})}", status_code=303)
    response.set_cookie(
        COOKIE,
        key.strip(),
        max_age=SETTINGS.session_max_age_s,
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/console/sign-out", response_class=HTMLResponse)
def sign_out(
    request: Request, csrf: Annotated[str, Form()] = "", lang: Annotated[str, Form()] = "zh"
) -> Response:
    lang = pick_lang(lang)
    try:
        form_session(request, csrf)
    except SignInRequired:
        pass  # nothing to end: clear whatever cookie is left
    except AgentGovError as exc:
        return error_page(lang, exc)
    response = RedirectResponse(
        f"/console/sign-in?{urlencode({'lang': lang, 'signed_out': 'true'})}", status_code=303
    )
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response
