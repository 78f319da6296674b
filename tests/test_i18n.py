"""Every string of the public pages has a Spanish translation, and the Spanish pages show no English."""

from __future__ import annotations

import html
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from litestar.testing import TestClient
from tests.conftest import PLANS_DIR

from coverage.i18n import LANGUAGES, catalog_path, choose_language, from_accept_language
from coverage.web import create_app

ROOT = Path(__file__).resolve().parents[1]


def source_messages() -> set[str | tuple[str, str]]:
    """What `pybabel extract -F babel.cfg` finds in the page templates and their Python helpers."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = extract_from_dir(str(ROOT), method_map, options_map)
    return {message if isinstance(message, str) else tuple(message) for _, _, message, _, _ in found}


def test_every_page_string_has_a_translation() -> None:
    messages = source_messages()
    assert len(messages) > 80  # the extraction really read the templates
    for language in LANGUAGES.keys() - {"en"}:
        with catalog_path(language).open("rb") as po:
            catalog = read_po(po)
        translated = {
            (m.id if isinstance(m.id, str) else tuple(m.id))
            for m in catalog
            if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])
        }
        missing = sorted(map(str, messages - translated))
        assert not missing, f"{language}: no translation for {missing}"


def visible_text(page: str) -> str:
    page = re.sub(r"(?s)<(style|script)\b.*?</\1>", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_spanish_pages_show_no_english_sentence() -> None:
    """A string shown on the page but not passed through gettext would stay English."""
    english = {m for m in source_messages() if isinstance(m, str) and len(m) > 25 and "{" not in m}
    form = {"plan_source": "list", "plan_id": "acme-ppo-gold-2026", "start_date": "2026-03-02", "lang": "es"}
    with TestClient(create_app(PLANS_DIR, api_keys=["k"])) as client:
        pages = [
            client.post("/compare", data=form).text,
            client.post("/compare", data=form | {"start_date": "2026-02-30"}).text,
            client.get("/compare?lang=es&source=typed").text,
        ]
    for page in pages:
        text = " ".join(visible_text(page).split())
        shown = [message for message in english if " ".join(message.split()) in text]
        assert not shown, shown
        assert "2026-02-30" not in text or "no es una fecha" in text


def test_language_choice() -> None:
    assert from_accept_language("es-MX,es;q=0.9,en;q=0.8") == "es"
    assert from_accept_language("en-US,en;q=0.9,es;q=0.8") == "en"
    assert from_accept_language("fr-FR, de;q=0.5") == "en"  # none supported: English
    assert choose_language("en", "es") == "en"  # the switch wins over the browser
    assert choose_language("xx", "es") == "es"
