"""The languages of the public pages (Compare, its results, the family handout): gettext
catalogs read with Babel.

Catalogs are the text `.po` files under `src/coverage/locale/` (translators edit those); they
are compiled in memory when first used, so a fresh clone needs no build step and no binary
`.mo` files are committed. English is the source language: its "translation" is identity.
"""

from __future__ import annotations

import functools
import gettext
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = {"en": "English", "es": "Español"}  # code -> the language's own name, for the switch
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The gettext object for a language; identity for English and any unknown code."""
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return gettext.NullTranslations()
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return Translations(compiled)


def from_accept_language(header: str) -> str:
    """The best supported language of an Accept-Language header ("es-MX,es;q=0.9,en;q=0.8")."""
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for item in header.split(","):
        tag, _, params = item.strip().partition(";")
        code = tag.strip().lower().split("-")[0]
        try:
            q = float(params.strip().removeprefix("q=")) if params.strip().startswith("q=") else 1.0
        except ValueError:
            continue
        if code in LANGUAGES and q > best_q:
            best, best_q = code, q
    return best


def choose_language(asked: str | None, accept_language: str) -> str:
    """An explicit choice (the switch: `lang` in the query or form) wins over the browser's."""
    if asked in LANGUAGES:
        return asked
    return from_accept_language(accept_language)


def N_(message: str) -> str:
    """Marks a string for the catalog where it is defined; translated where it is shown."""
    return message
