"""Submit HTML forms the way a browser without JavaScript would: every field's default, plus what we type."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import requests


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {
                "action": attrs.get("action") or "",
                "method": (attrs.get("method") or "get").lower(),
                "fields": [],
            }
            self.forms.append(self._form)
        if self._form is None:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self._form["fields"].append((name, attrs.get("value", "on")))
            elif kind not in {"submit", "button", "image", "reset", "file"}:
                self._form["fields"].append((name, attrs.get("value") or ""))
        elif tag == "select" and name:
            self._select, self._select_first = name, None
            self._selected = False
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in attrs:
                self._form["fields"].append((self._select, value))
                self._selected = True
        elif tag == "textarea" and name:
            self._textarea = name
            self._form["fields"].append((name, ""))

    def handle_data(self, data):
        if self._textarea and self._form:
            name, value = self._form["fields"][-1]
            self._form["fields"][-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            if not self._selected and self._select_first is not None:
                self._form["fields"].append((self._select, self._select_first))
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._form = None


def submit_form(
    session: requests.Session, page: requests.Response, *, action_contains: str = "", values: dict[str, str]
) -> requests.Response:
    """Fill the page's first POST form whose action contains ``action_contains`` and submit it."""
    parser = _FormParser()
    parser.feed(page.text)
    candidates = [
        f for f in parser.forms if f["method"] == "post" and action_contains in (f["action"] or page.url)
    ]
    assert candidates, f"no POST form with {action_contains!r} in its action on {page.url}"
    form = candidates[0]
    fields = [(name, value) for name, value in form["fields"] if name not in values]
    fields += list(values.items())
    return session.post(
        urljoin(page.url, form["action"] or page.url), data=fields, headers={"Referer": page.url}, timeout=30
    )
