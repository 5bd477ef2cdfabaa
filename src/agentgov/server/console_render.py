"""Rendering of the console: one Jinja environment (autoescaped, so nothing an agent or a user wrote
becomes markup), the language of a page, and the page an error becomes (never a traceback)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from agentgov.errors import AgentGovError
from agentgov.server.console_text import LABELS_ZH, NOTHING, PROBLEMS, TEXT

__all__ = ["error_page", "pick_lang", "problem_text", "render"]

_env = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)


def _pretty(value: Any) -> str:
    """Arguments as people read them: indented, keys sorted, Chinese kept as is (escaped by Jinja)."""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


_env.filters["pretty"] = _pretty


def pick_lang(lang: str) -> str:
    return lang if lang in TEXT else "zh"


def _label(lang: str) -> Callable[[str | None], str]:
    def label(value: str | None) -> str:
        if value is None:
            return NOTHING
        return LABELS_ZH.get(value, value) if lang == "zh" else value.replace("_", " ")

    return label


def render(
    name: str, lang: str, *, status_code: int = 200, private: bool = False, **context: Any
) -> HTMLResponse:
    """The page ``name``. ``private``: it shows a signed-in user's data, which no cache may keep."""
    lang = pick_lang(lang)
    other = "en" if lang == "zh" else "zh"
    label = _label(lang)
    html = _env.get_template(name).render(
        t=TEXT[lang], lang=lang, other=other, status_label=label, label=label, **context
    )
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"} if private else None
    return HTMLResponse(html, status_code=status_code, headers=headers)


def problem_text(lang: str, error: AgentGovError) -> tuple[str, str]:
    """(title, message) of ``error`` in ``lang``: the console's own errors are translated; the
    services' messages are shown as they are written, under a translated title."""
    title, message = PROBLEMS[pick_lang(lang)].get(error.code) or PROBLEMS["en"].get(error.code, ("", None))
    return title or error.title, message or error.detail


def error_page(
    lang: str, error: AgentGovError, *, here: str = "/console/approvals", **context: Any
) -> HTMLResponse:
    """A readable page with the error's own status (RFC 9110), instead of a problem document."""
    title, message = problem_text(lang, error)
    return render(
        "error.html",
        lang,
        status_code=error.status,
        private=True,
        title=title,
        message=message,
        status=error.status,
        code=error.code,
        here=here,
        **context,
    )
