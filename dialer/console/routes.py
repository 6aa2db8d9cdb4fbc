"""The agent console's pages and static files (not in the API schema).

The pages are rendered in one language (dialer.console.i18n) with the service's
telephony mode in them; everything else the console does goes through the /api
routes with the session cookie and `X-CSRF-Token`, like any other client."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from dialer.agents.models import Role
from dialer.console.i18n import LANGUAGE_COOKIE, LANGUAGE_NAMES, catalog, choose_language
from dialer.errors import NotFound
from dialer.web import get_runtime, page_session

router = APIRouter(include_in_schema=False)

_HERE = Path(__file__).resolve().parent
_STATIC = _HERE / "static"
templates = Jinja2Templates(directory=str(_HERE / "templates"))

# One disposition button per outcome an agent records, with its shortcut key.
OUTCOME_KEYS = [
    ("converted", "1"),
    ("callback", "2"),
    ("will_self_apply", "3"),
    ("not_interested", "4"),
    ("refused", "5"),
    ("dnc", "6"),
    ("wrong_number", "7"),
    ("no_answer", "8"),
    ("busy", "9"),
    ("machine", "0"),
]
_STATIC_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}\.(js|css)")
_MEDIA = {"js": "text/javascript", "css": "text/css"}
_YEAR = 365 * 24 * 3600

Lang = Annotated[
    str | None, Query(pattern="^(en|ja)$", description="switch the language (remembered)")
]


def _base(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def render_page(
    request: Request,
    *,
    name: str,
    lang: str | None,
    extra: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    status_code: int = 200,
    areas: tuple[str, ...] | None = None,
) -> Response:
    """A page of the consoles in one language, with its script's config (base path,
    language, telephony mode and `config`) and the catalog of its `areas` (see
    `catalog`); `?lang=` is remembered in a cookie."""
    chosen = choose_language(
        asked=lang,
        cookie=request.cookies.get(LANGUAGE_COOKIE),
        accept_language=request.headers.get("accept-language"),
    )
    runtime = get_runtime(request)
    base = _base(request)
    page_config = {
        "base": base,
        "lang": chosen,
        "mode": str(runtime.settings.telephony.value),
        **(config or {}),
    }
    response = templates.TemplateResponse(
        request,
        name,
        {
            "t": catalog(chosen, areas),
            "lang": chosen,
            "base": base,
            "languages": LANGUAGE_NAMES,
            "config": page_config,
            "mode": page_config["mode"],
            **(extra or {}),
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store", "Content-Language": chosen},
    )
    if lang is not None:
        response.set_cookie(
            LANGUAGE_COOKIE, chosen, max_age=_YEAR, path="/", samesite="lax", httponly=True
        )
    return response


@router.get("/", response_class=HTMLResponse)
def console_page(request: Request, lang: Lang = None) -> Response:
    """The agent console; without a session cookie, a 303 to the sign-in page; a
    manager's session, a 303 to the manager console."""
    who = page_session(request)
    suffix = f"?lang={lang}" if lang else ""
    if who is None:
        return RedirectResponse(f"{_base(request)}/login{suffix}", status_code=303)
    if who.role == Role.manager:
        # A manager takes no leads: its home is the floor.
        return RedirectResponse(f"{_base(request)}/manage{suffix}", status_code=303)
    return render_page(
        request, name="console.html", lang=lang, extra={"outcomes": OUTCOME_KEYS}, areas=()
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, lang: Lang = None) -> Response:
    """The sign-in page: name and password, posted as JSON to POST /api/session."""
    return render_page(request, name="login.html", lang=lang, areas=())


@router.get("/static/console/{name}")
def static_file(name: str) -> Response:
    """The console's scripts and styles (only files of this package's static folder)."""
    if not _STATIC_NAME.fullmatch(name):
        raise NotFound(f"no console file {name[:80]!r}")
    path = _STATIC / name
    if not path.is_file():
        raise NotFound(f"no console file {name!r}")
    # Revalidated on every load (no build step names files by content); cheap,
    # the files are small and answer 304 when unchanged.
    return FileResponse(
        path,
        media_type=_MEDIA[name.rsplit(".", 1)[1]],
        headers={"Cache-Control": "no-cache"},
    )
