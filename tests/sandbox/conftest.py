"""Fixtures for the sandbox tests: an API caller over Django's test client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest


def encode(params: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding of nested dicts and lists (``a[b][0][c]``), like the SDK's."""
    pairs = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            pairs += encode(value, name)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    pairs += encode(item, f"{name}[{index}]")
                else:
                    pairs.append((f"{name}[{index}]", _scalar(item)))
        else:
            pairs.append((name, _scalar(value)))
    return pairs


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Api:
    client: object
    key: str = "sk_test_sandbox_tests"

    def _headers(self, extra: dict | None) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.key}", **(extra or {})}

    def get(self, path: str, params: dict | None = None, **headers):
        query = urlencode(encode(params or {}))
        return self.client.get(
            f"/sandbox/v1/{path}" + (f"?{query}" if query else ""), **self._headers(headers)
        )

    def post(self, path: str, params: dict | None = None, **headers):
        return self.client.post(
            f"/sandbox/v1/{path}",
            data=urlencode(encode(params or {})),
            content_type="application/x-www-form-urlencoded",
            **self._headers(headers),
        )

    def delete(self, path: str, **headers):
        return self.client.delete(f"/sandbox/v1/{path}", **self._headers(headers))

    def ok(self, method: str, path: str, params: dict | None = None) -> dict:
        response = (
            getattr(self, method)(path, params)
            if params is not None or method != "delete"
            else self.delete(path)
        )
        assert response.status_code == 200, response.content
        return json.loads(response.content)


@pytest.fixture
def api(client) -> Api:
    return Api(client=client)


@pytest.fixture
def product(api) -> dict:
    return api.ok("post", "products", {"name": "T-shirt"})


@pytest.fixture
def price(api, product) -> dict:
    return api.ok("post", "prices", {"product": product["id"], "currency": "usd", "unit_amount": 1500})


@pytest.fixture
def link(api, price) -> dict:
    return api.ok("post", "payment_links", {"line_items": [{"price": price["id"], "quantity": 1}]})


@dataclass
class Received:
    headers: dict
    body: str


class Receiver:
    """A tiny HTTP endpoint on 127.0.0.1 recording what it receives; answers ``status``."""

    def __init__(self):
        import http.server
        import threading

        self.requests: list[Received] = []
        self.status = 200
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode("utf-8")
                receiver.requests.append(Received(headers=dict(self.headers), body=body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict]:
        return [json.loads(r.body) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()
