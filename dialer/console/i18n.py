"""The console's two languages: one catalog per language (`i18n/<lang>.json` and
the areas' `i18n/<area>.<lang>.json`, one key set), chosen from the remembered
switch (a cookie), else `Accept-Language`.

A page is rendered wholly in one language: the template and the script read
strings from the same catalog, and a test holds the two catalogs to one key set."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "ja")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "dialer_lang"
# The switch names each language in itself, on every page: not part of a catalog.
LANGUAGE_NAMES = {"en": "English", "ja": "日本語"}

_DIR = Path(__file__).resolve().parent / "i18n"
# An Accept-Language header longer than this is read only this far (a bound on input).
_MAX_HEADER = 1024


@cache
def catalog(lang: str, areas: tuple[str, ...] | None = None) -> dict[str, str]:
    """The strings of `lang` (one of LANGUAGES), key → text with `{name}` fields:
    `i18n/<lang>.json` and the `i18n/<area>.<lang>.json` of `areas` (every area
    when None; one file per console area, so areas grow apart), a key in one
    file only. A page carries the areas it reads, not every console's strings."""
    if lang not in LANGUAGES:
        raise KeyError(lang)
    names = sorted(_DIR.glob(f"*.{lang}.json"))
    if areas is not None:
        names = [_DIR / f"{area}.{lang}.json" for area in areas]
    merged: dict[str, str] = {}
    for path in [_DIR / f"{lang}.json", *names]:
        loaded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        twice = sorted(merged.keys() & loaded.keys())
        if twice:
            raise ValueError(f"{path.name} repeats keys of another catalog file: {twice}")
        merged.update(loaded)
    return merged


def from_accept_language(header: str | None) -> str | None:
    """The first of our languages the header asks for, by its q-values (ties by order)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:_MAX_HEADER].split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-", 1)[0]
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if primary in LANGUAGES and q > 0:
            ranked.append((-q, position, primary))
    return min(ranked)[2] if ranked else None


def choose_language(*, asked: str | None, cookie: str | None, accept_language: str | None) -> str:
    """An explicit choice (the switch's `?lang=`), then the remembered one, then the
    browser's, then English."""
    for lang in (asked, cookie):
        if lang in LANGUAGES:
            return lang
    return from_accept_language(accept_language) or DEFAULT_LANGUAGE
