"""Concurrent requests on one object over real HTTP: no lost update, one idempotent result."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)

HEADERS = {"Authorization": "Bearer sk_test_concurrency"}


def _post(url: str, data: dict, headers: dict | None = None) -> requests.Response:
    return requests.post(url, data=data, headers={**HEADERS, **(headers or {})}, timeout=30)


def test_concurrent_metadata_updates_keep_every_key(sandbox):
    api = f"{sandbox.api_base}/v1"
    product = _post(f"{api}/products", {"name": "Shared"}).json()
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(
            pool.map(
                lambda i: _post(f"{api}/products/{product['id']}", {f"metadata[k{i}]": str(i)}), range(8)
            )
        )
    assert all(r.status_code == 200 for r in responses)
    final = requests.get(f"{api}/products/{product['id']}", headers=HEADERS, timeout=30).json()
    assert final["metadata"] == {f"k{i}": str(i) for i in range(8)}


def test_concurrent_requests_with_one_idempotency_key_create_one_object(sandbox):
    api = f"{sandbox.api_base}/v1"
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(
            pool.map(
                lambda _: _post(f"{api}/products", {"name": "Once"}, {"Idempotency-Key": "same"}), range(6)
            )
        )
    ids = {r.json()["id"] for r in responses if r.status_code == 200}
    assert len(ids) == 1
    listed = requests.get(f"{api}/products", headers=HEADERS, timeout=30).json()["data"]
    assert [p["name"] for p in listed] == ["Once"]
