"""The French catalogs: compiled from the current .po files, and used when the browser asks for French."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

BASE = Path(settings.BASE_DIR)
# The dashboard's catalog, and the sandbox's own (its hosted pages, in the customer's language).
CATALOGS = [BASE / "locale" / "fr" / "LC_MESSAGES", BASE / "sandbox" / "locale" / "fr" / "LC_MESSAGES"]


def _po_entries(path: Path) -> list[tuple[str, str | None]]:
    """(key in the compiled catalog, msgid_plural) of every entry but the header; the key of an entry with a
    context is ``context\x04msgid``, as gettext compiles it."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            keyword, _, rest = line.partition(" ")
            if keyword in ("msgctxt", "msgid", "msgid_plural") or keyword.startswith("msgstr"):
                current, fields[keyword] = keyword, ast.literal_eval(rest)
            elif line.startswith('"') and current:
                fields[current] += ast.literal_eval(line)
        if fields.get("msgid"):
            context = f"{fields['msgctxt']}\x04" if "msgctxt" in fields else ""
            entries.append((context + fields["msgid"], fields.get("msgid_plural")))
    return entries


@pytest.mark.parametrize("directory", CATALOGS, ids=["dashboard", "sandbox"])
def test_every_message_of_the_catalog_is_translated_and_compiled(directory):
    with (directory / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog
    entries = _po_entries(directory / "django.po")
    assert len(entries) > 100
    missing = [
        msgid for msgid, plural in entries if not (catalog.get((msgid, 0)) if plural else catalog.get(msgid))
    ]
    # A .po changed without `compilemessages`, or an entry left empty or fuzzy.
    assert missing == []


@pytest.mark.django_db
def test_a_french_browser_gets_the_dashboard_in_french(staff_client):
    response = staff_client.get(reverse("links:list"), headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert response.status_code == 200
    assert '<html lang="fr">' in response.text
    assert "Liens de paiement" in response.text
    english = staff_client.get(reverse("links:list"), headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Payment links" in english.text
