"""The user's final say and right to know in the browser (Art. 6): approvals to decide, and the feed of
what was done on the user's behalf, with disputes.

Pages read and change through the same services as ``/v1/approvals`` and ``/v1/me/feed``, as the
signed-in principal: the services decide who sees and decides what. A change is a POST with the form
token of the session, answered by a redirect to the page (``?decided=`` or ``?disputed=`` names what
changed; the message shown is read back from the service, so a link cannot make one up). An error of
a service is shown on the page with its own status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agentgov.approvals.model import ApprovalState, ApprovalStatus
from agentgov.errors import AgentGovError, InvalidInput, NotFound
from agentgov.identity.apikeys import Role
from agentgov.server.console_auth import ConsoleSession, form_session, read_session, sign_in_redirect
from agentgov.server.console_render import error_page, pick_lang, problem_text, render
from agentgov.server.console_text import DISPUTE_WITHOUT_REASON
from agentgov.server.routes_approvals import authority_services

__all__ = ["ConsolePageLimits", "router"]

router = APIRouter(include_in_schema=False)

APPROVALS = "/console/approvals"
FEED = "/console/feed"


@dataclass(frozen=True)
class ConsolePageLimits:
    # Pending approvals are few (each expires within a day): all of them fit on one page.
    pending: int = 100
    # Recently decided ones are context, not an archive: the API and the CLI list the rest.
    recent: int = 30
    # The feed pages through older items with its cursor.
    feed_page: int = 50
    # A flash or cursor parameter longer than this is not one the console made, and is ignored.
    max_param_chars: int = 300


LIMITS = ConsolePageLimits()


def _flash_param(value: str) -> str | None:
    return value if value and len(value) <= LIMITS.max_param_chars else None


def _to(page: str, lang: str, **params: str) -> RedirectResponse:
    return RedirectResponse(f"{page}?{urlencode({'lang': lang, **params})}", status_code=303)


# approvals -------------------------------------------------------------------------------------------


def _approvals_page(
    request: Request,
    session: ConsoleSession,
    lang: str,
    *,
    decided: str | None = None,
    error: AgentGovError | None = None,
) -> HTMLResponse:
    who = session.principal
    try:
        svc = authority_services(request).approvals
        waiting = svc.list_approvals(who, status=ApprovalStatus.PENDING, limit=LIMITS.pending)
        recent = svc.list_approvals(who, limit=LIMITS.recent)
        flash = None
        if decided is not None:
            try:
                flash = svc.get(who, decided)
            except NotFound:
                flash = None  # not theirs, or no such approval: say nothing
    except AgentGovError as exc:
        return error_page(lang, exc, session=session)
    return render(
        "approvals.html",
        lang,
        status_code=error.status if error else 200,
        private=True,
        session=session,
        here=APPROVALS,
        me=who.subject,
        can_decide=who.role is Role.USER,
        pending=[a for a in waiting if a["state"] == ApprovalState.PENDING],
        past=[a for a in recent if a["state"] != ApprovalState.PENDING],
        flash=flash,
        error=problem_text(lang, error) if error else None,
    )


@router.get(APPROVALS, response_class=HTMLResponse)
def approvals_page(request: Request, lang: str = "zh", decided: str = "") -> Response:
    lang = pick_lang(lang)
    try:
        session = read_session(request)
    except AgentGovError as exc:
        return error_page(lang, exc)
    if session is None:
        return sign_in_redirect(lang, APPROVALS)
    return _approvals_page(request, session, lang, decided=_flash_param(decided))


def _decide(
    request: Request, approval_id: str, verb: Literal["approve", "refuse"], *, csrf: str, note: str, lang: str
) -> Response:
    lang = pick_lang(lang)
    try:
        session = form_session(request, csrf)
    except AgentGovError as exc:
        return error_page(lang, exc)
    try:
        svc = authority_services(request).approvals
        decide = svc.approve if verb == "approve" else svc.refuse
        decide(session.principal, approval_id, note.strip() or None)
    except AgentGovError as exc:  # e.g. a delegate on a user-only action: the service says why
        return _approvals_page(request, session, lang, error=exc)
    return _to(APPROVALS, lang, decided=approval_id)


@router.post(APPROVALS + "/{approval_id}/{verb}", response_class=HTMLResponse)
def decide(
    request: Request,
    approval_id: str,
    verb: Literal["approve", "refuse"],
    *,
    csrf: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "zh",
) -> Response:
    """Approve or refuse, by the form's button."""
    return _decide(request, approval_id, verb, csrf=csrf, note=note, lang=lang)


# the right to know -----------------------------------------------------------------------------------


def _feed_page(
    request: Request,
    session: ConsoleSession,
    lang: str,
    *,
    before: str | None = None,
    disputed: str | None = None,
    error: AgentGovError | None = None,
) -> HTMLResponse:
    who = session.principal
    try:
        if before is not None and len(before) > LIMITS.max_param_chars:
            raise InvalidInput("before: not a cursor from this feed", field="before")
        feed = authority_services(request).feed
        page = feed.feed(who, limit=LIMITS.feed_page, before=before)
        flash: dict[str, Any] | None = None
        if disputed is not None:
            flash = next((d for d in feed.disputes(who) if d["item_id"] == disputed), None)
    except AgentGovError as exc:
        return error_page(lang, exc, session=session, here=FEED)
    return render(
        "feed.html",
        lang,
        status_code=error.status if error else 200,
        private=True,
        session=session,
        here=FEED,
        items=page["items"],
        next_cursor=page["next"],
        flash=flash,
        error=problem_text(lang, error) if error else None,
    )


@router.get(FEED, response_class=HTMLResponse)
def feed_page(request: Request, lang: str = "zh", before: str = "", disputed: str = "") -> Response:
    lang = pick_lang(lang)
    try:
        session = read_session(request)
    except AgentGovError as exc:
        return error_page(lang, exc, here=FEED)
    if session is None:
        return sign_in_redirect(lang, FEED)
    return _feed_page(request, session, lang, before=before or None, disputed=_flash_param(disputed))


@router.post(FEED + "/{item_id}/dispute", response_class=HTMLResponse)
def dispute(
    request: Request,
    item_id: str,
    csrf: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "zh",
) -> Response:
    lang = pick_lang(lang)
    try:
        session = form_session(request, csrf)
    except AgentGovError as exc:
        return error_page(lang, exc, here=FEED)
    try:
        authority_services(request).feed.dispute(
            session.principal, item_id, reason.strip() or DISPUTE_WITHOUT_REASON
        )
    except AgentGovError as exc:
        return _feed_page(request, session, lang, error=exc)
    return _to(FEED, lang, disputed=item_id)
