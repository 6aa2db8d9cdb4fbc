"""The repository stands on its own: nothing in it points outside it.

CI (`.ci/run`) proves it by running the suite in a copy with nothing beside
it; this test says which file is at fault, before CI does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Not the repository's own files: tools' caches and the local virtualenv.
SKIPPED_DIRS = {
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    # npm's install of the committed lock (scripts/setup-softphone), git-ignored.
    "node_modules",
}
# Paths of the machine this project was written on, which a clone does not have.
OUTSIDE = ("../shared", "/work/")
# The generator's usage text names where the machine keeps Twilio's description,
# and this file names what it looks for.
ALLOWED = {"scripts/twilio_facts.py", "tests/test_self_contained.py"}
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _files() -> list[Path]:
    found = []
    for path in sorted(REPO.rglob("*")):
        relative = path.relative_to(REPO)
        if any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in relative.parts):
            continue
        if path.is_file():
            found.append(path)
    return found


def _text(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        return None
    return data.decode("utf-8", "replace")


def test_no_file_points_outside_the_repository() -> None:
    offenders = []
    for path in _files():
        relative = path.relative_to(REPO).as_posix()
        text = _text(path)
        if relative in ALLOWED or text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if any(marker in line for marker in OUTSIDE):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == [], "\n".join(offenders)


@pytest.mark.parametrize(
    "document",
    ["README.md", *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md"))],
)
def test_markdown_links_stay_inside_the_repository(document: str) -> None:
    path = REPO / document
    broken = []
    for target in _LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor on the page
        resolved = (path.parent / target.split("#", 1)[0]).resolve()
        if not resolved.is_relative_to(REPO) or not resolved.exists():
            broken.append(target)
    assert broken == [], f"{document} links outside the repository or to nothing: {broken}"
