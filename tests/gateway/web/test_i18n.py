"""Both languages say everything; the language choice follows the user, then the browser."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.web._i18n import LANGUAGES, TEXTS, pick_language

TEMPLATES = Path(__file__).parents[3] / "gateway" / "web" / "templates"


def test_every_language_has_every_text_and_no_key_shadows_a_dict_method() -> None:
    keys = set(TEXTS["en"])
    for language in LANGUAGES:
        assert set(TEXTS[language]) == keys, language
        assert all(TEXTS[language][key].strip() for key in keys)
    # Jinja looks up ``t.values`` as dict.values before the key: such keys would vanish.
    assert not keys & set(dir(dict))


def test_templates_use_only_known_texts() -> None:
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"\bt\.([a-z_]+)", template.read_text()))
    assert used, "no texts found: the pattern no longer matches the templates"
    assert used <= set(TEXTS["en"]), used - set(TEXTS["en"])


def test_language_choice_order() -> None:
    assert pick_language("de", "en", "en-GB") == "de"
    assert pick_language(None, "de", "en-GB") == "de"
    assert pick_language(None, None, "fr-FR,de;q=0.8,en;q=0.5") == "de"
    assert pick_language("xx", None, None) == "en"
