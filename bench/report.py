"""The headline figures (the keys of ``--json``) and the table printed by default."""

from __future__ import annotations

from bench.common import ratio


def _get(data: dict, *path, default=None):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def _worst(pages: dict, prefix: str) -> float | None:
    values = [v["p95_ms"] for k, v in pages.items() if k.startswith(prefix) and v.get("p95_ms") is not None]
    return max(values) if values else None


def figures(results: dict) -> dict:
    floor_rps = _get(results, "floor", "rps")
    ingest = results.get("webhooks") or {}
    ingest_floor = _get(ingest, "floor", "rps")
    ingest_rps = _get(ingest, "full", "rps")
    # Only if the worker was still busy when that floor ended.
    busy_floor_rps = _get(ingest, "floor_while_worker_busy", "rps")
    if not _get(ingest, "floor_while_worker_busy", "backlog_after"):
        busy_floor_rps = None
    pages = (results.get("scale") or [{}])[-1].get("pages", {})
    return {
        "floor_rps": floor_rps,
        "webhook_ingest_rps": ingest_rps,
        "webhook_ingest_ratio": ratio(ingest_rps, ingest_floor),
        # The receiver with the worker stopped; the floor itself while the worker fulfils the backlog the
        # burst left.
        "webhook_ingest_ratio_worker_stopped": ratio(_get(ingest, "worker_stopped", "rps"), ingest_floor),
        "floor_ratio_while_worker_busy": ratio(busy_floor_rps, ingest_floor),
        "webhook_p50_ms": _get(ingest, "full", "p50_ms"),
        "webhook_p99_ms": _get(ingest, "full", "p99_ms"),
        "webhook_half_rate_p99_ms": _get(ingest, "half", "p99_ms"),
        "webhook_events_lost": ingest.get("events_lost"),
        "fulfilment_p50_ms": _get(results, "fulfilment", "p50_ms"),
        "fulfilment_p99_ms": _get(results, "fulfilment", "p99_ms"),
        "fulfilment_queue_grows": _get(results, "fulfilment", "queue_grows"),
        "fulfilment_capacity_per_s": _get(results, "fulfilment", "capacity_events_per_s"),
        "fulfilment_sustained_rate": _get(results, "fulfilment_sustained", "rate"),
        "fulfilment_sustained_p50_ms": _get(results, "fulfilment_sustained", "p50_ms"),
        "fulfilment_sustained_p99_ms": _get(results, "fulfilment_sustained", "p99_ms"),
        "links_list_p95_ms": _worst(pages, "links_list"),
        "orders_list_p95_ms": _worst(pages, "orders_list"),
        "link_page_p95_ms": _get(pages, "link_page", "p95_ms"),
        "order_page_p95_ms": _get(pages, "order_page", "p95_ms"),
        "home_p95_ms": _get(pages, "home", "p95_ms"),
        "orders_seeded": (results.get("scale") or [{}])[-1].get("orders"),
        "export_peak_rss_mb": _get(results, "export", "peak_rss_mb"),
        "hosted_page_ratio": _get(results, "sandbox", "hosted_page", "ratio"),
        "payment_links_create_ratio": _get(results, "sandbox", "payment_links_create", "ratio"),
        "full_checkouts_per_s_c8": _get(results, "sandbox", "full_checkout_c8", "checkouts_per_s"),
        "bulk_links_per_s": _get(results, "bulk", "service_links_per_s"),
        "bulk_links_ratio": _get(results, "bulk", "ratio"),
        "reliability_checkouts_per_s": _get(results, "reliability", "checkouts_per_s"),
        "reliability_ok": _get(results, "reliability", "ok"),
    }


def table(figures: dict, results: dict) -> str:
    rows = [("figure", "value")]
    rows += [(key, "" if value is None else str(value)) for key, value in figures.items()]
    lines = _format(rows)
    for step in results.get("scale") or []:
        lines.append("")
        lines.append(
            f"pages at {step['links']} links, {step['orders']} orders (seeded in {step['seed_s']} s):"
        )
        page_rows = [("page", "p50 ms", "p95 ms", "× floor p95", "queries", "status")]
        for name, page in step["pages"].items():
            page_rows.append(
                (
                    name,
                    str(page.get("p50_ms")),
                    str(page.get("p95_ms")),
                    str(page.get("ratio_to_floor", "")),
                    str(page.get("queries", "")),
                    ",".join(map(str, page.get("status", []))),
                )
            )
        lines += _format(page_rows)
    sections = ("floor", "webhooks", "fulfilment", "fulfilment_sustained", "sandbox", "bulk", "export")
    for section in (*sections, "reliability"):
        if section in results:
            lines.append("")
            lines.append(f"{section}: {results[section]}")
    meta = results.get("meta", {})
    lines.append("")
    lines.append(f"meta: {meta}")
    if "error" in results:
        lines.append(f"ERROR: {results['error']}")
    return "\n".join(lines)


def _format(rows: list[tuple]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
