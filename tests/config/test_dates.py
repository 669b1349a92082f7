"""One date format on every dashboard page: the ``shop_datetime``/``shop_date`` filters."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

MOMENT = datetime(2026, 12, 7, 22, 44, 5, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def _render(source: str, **context) -> str:
    return Template("{% load dates %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("language", "zone", "shown"),
    [
        ("en", "UTC", "Dec. 7, 2026, 10:44 p.m."),
        ("fr", "UTC", "7 décembre 2026 22:44"),
        # The shop's time zone, not UTC: 23:44 in Paris, already the next day in Tokyo.
        ("fr", "Europe/Paris", "7 décembre 2026 23:44"),
        ("en", "Asia/Tokyo", "Dec. 8, 2026, 7:44 a.m."),
    ],
)
def test_a_moment_in_the_pages_language_and_the_shops_time_zone(settings, language, zone, shown):
    settings.TIME_ZONE = zone
    with translation.override(language), timezone.override(zone):
        html = _render("{{ at|shop_datetime }}", at=MOMENT)
    assert f">{shown}</time>" in html
    # The exact moment for machines, the seconds and the zone for people matching it with a log line.
    assert 'datetime="2026-12-07T22:44:05+00:00"' in html
    assert re.search(r'title="2026-12-0[78] \d\d:44:05 \S+"', html)


def test_a_day_in_the_same_style():
    with translation.override("fr"), timezone.override("Europe/Paris"):
        assert (
            _render("{{ d|shop_date }}", d=date(2026, 3, 1))
            == '<time datetime="2026-03-01">1 mars 2026</time>'
        )
        # A moment shown as a day is the shop's day: 23:30 UTC is already tomorrow in Paris.
        late = datetime(2026, 2, 28, 23, 30, tzinfo=UTC)
        assert ">1 mars 2026<" in _render("{{ at|shop_date }}", at=late)


def test_nothing_for_a_missing_moment_so_that_default_applies():
    assert _render('{{ at|shop_datetime|default:"—" }} {{ at|shop_date|default:"—" }}', at=None) == "— —"


def test_dashboard_templates_show_dates_only_through_the_filters():
    # A named format (SHORT_DATETIME_FORMAT, DATE_FORMAT…) beside the filters is a second style on the page;
    # a machine format ('Y-m-d' for <input type=date>) is fine. E-mails and the sandbox have their own.
    dashboard = [ROOT / "templates", ROOT / "catalog", ROOT / "links", ROOT / "webhooks", ROOT / "config"]
    offenders = [
        f"{path.relative_to(ROOT)}: {match}"
        for folder in dashboard
        for path in folder.rglob("*.html")
        if "emails" not in path.parts
        for match in re.findall(r"\|date:\s*['\"]\w*FORMAT['\"]", path.read_text())
    ]
    assert offenders == []
