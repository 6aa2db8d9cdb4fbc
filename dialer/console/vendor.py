"""`GET /static/vendor/twilio.min.js`: Twilio's Voice SDK bundle for the console's
softphone, served from the npm package `scripts/setup-softphone` installs.

The bundle is never copied into the repository: it comes from the registry with the
committed lock file (console/package-lock.json), so an upgrade is a reviewed change
to the lock and nothing else. Simulated telephony needs no JavaScript package, so
a missing bundle is a 404 that names the set-up step, not a start-up refusal."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response

from dialer.web import get_runtime

if TYPE_CHECKING:
    from dialer.settings import Settings

router = APIRouter(include_in_schema=False)

# Where `npm ci --prefix console` puts the package in a checkout; an installed
# wheel has no checkout beside it, hence DIALER_SOFTPHONE_DIR.
CHECKOUT_DIR = Path(__file__).resolve().parents[2] / "console"
BUNDLE = Path("node_modules", "@twilio", "voice-sdk", "dist", "twilio.min.js")
SETUP_STEP = "scripts/setup-softphone"


def softphone_dir(settings: Settings) -> Path:
    """DIALER_SOFTPHONE_DIR (the directory holding the package's node_modules/),
    else the checkout's console/."""
    return Path(settings.softphone_dir) if settings.softphone_dir else CHECKOUT_DIR


@router.get("/static/vendor/twilio.min.js")
def twilio_sdk(request: Request) -> Response:
    """Twilio's Voice SDK (`@twilio/voice-sdk`'s dist/twilio.min.js) as installed
    by scripts/setup-softphone; 404 in one line naming that step when it is not."""
    root = softphone_dir(get_runtime(request).settings)
    path = root / BUNDLE
    try:
        stat = os.stat(path)
    except OSError:
        return PlainTextResponse(
            f"The Twilio softphone is not installed: run {SETUP_STEP} (npm ci in console/)"
            " before starting a Twilio deployment, or set DIALER_SOFTPHONE_DIR to where it"
            f" is installed (looked for {BUNDLE.as_posix()} under {root}).\n",
            status_code=404,
        )
    # The URL carries no version, so browsers revalidate (ETag) rather than keep a
    # bundle an upgrade replaced; a revalidation costs a 304, not 450 kB.
    headers = {"Cache-Control": "no-cache"}
    response = FileResponse(path, media_type="text/javascript", stat_result=stat, headers=headers)
    etag = response.headers["etag"]
    if etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers={**headers, "ETag": etag})
    return response


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
