"""deploy/grafana/occupancy.json shows what the worker, the API and the database really have.

Renaming a metric, or a history view, fails here rather than leaving an empty panel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from api.metrics import new_registry
from streams.runtime import metrics as worker_metrics

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy" / "grafana" / "occupancy.json"
SQL = ROOT / "schemas" / "sql"

#: What a family of each type exposes (the names a query may use).
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
}


def families() -> dict[str, str]:
    """Family name -> type, of everything the worker and the API register."""
    worker = CollectorRegistry()
    for collector in worker_metrics.scrape_collectors():
        worker.register(collector)
    out: dict[str, str] = {}
    for registry in (worker_metrics.REGISTRY, worker, new_registry(lambda: None)):
        for family in registry.collect():
            out[family.name] = family.type
    return out


def exposed() -> set[str]:
    return {name + s for name, kind in families().items() for s in SUFFIXES[kind]}


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def prometheus_queries(board: dict[str, Any]) -> list[str]:
    exprs = [
        t["expr"]
        for p in panels(board)
        for t in p.get("targets", [])
        if t.get("datasource", p.get("datasource", {})).get("type") == "prometheus"
    ]
    for var in board["templating"]["list"]:
        if var["type"] == "query" and var["datasource"]["type"] == "prometheus":
            query = var["query"]
            exprs.append(query["query"] if isinstance(query, dict) else query)
    return exprs


def sql_queries(board: dict[str, Any]) -> list[str]:
    return [
        t["rawSql"]
        for p in panels(board)
        for t in p.get("targets", [])
        if t.get("datasource", p.get("datasource", {})).get("type")
        == "grafana-postgresql-datasource"
    ]


def relations() -> set[str]:
    """Every table and view the migrations create (plain and TimescaleDB paths)."""
    pattern = (
        r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:MATERIALIZED\s+)?(?:VIEW|TABLE)\s+"
        r"(?:IF\s+NOT\s+EXISTS\s+)?(\w+)"
    )
    names: set[str] = set()
    for path in SQL.glob("*.sql"):
        names |= set(re.findall(pattern, path.read_text(), flags=re.IGNORECASE))
    return names


def test_the_metric_sets_are_what_the_code_registers():
    names = families()
    # A sanity check of the collection itself: both processes and the scrape-time collectors.
    assert {
        "occupancy_crossings",
        "occupancy_consumer_lag_records",
        "occupancy_watermark_delay_seconds",
        "occupancy_api_subscriptions_open",
        "occupancy_camera_up",
    } <= set(names)
    assert all(name.startswith(("occupancy_", "process_")) for name in names)


def test_every_metric_in_a_prometheus_query_is_registered():
    known = exposed()
    exprs = prometheus_queries(dashboard())
    assert len(exprs) >= 15
    for expr in exprs:
        used = set(re.findall(r"\b((?:occupancy|process)_[a-z0-9_]+)", expr))
        assert used, f"no metric of ours in {expr!r}"
        assert used <= known, f"{sorted(used - known)} in {expr!r} are not registered"


def test_every_occupancy_metric_has_a_panel():
    used = {
        name
        for expr in prometheus_queries(dashboard())
        for name in re.findall(r"occupancy_\w+", expr)
    }
    for name, kind in families().items():
        if not name.startswith("occupancy_"):
            continue  # the process's own: memory and CPU have panels, the rest need none
        assert any(name + s in used for s in SUFFIXES[kind]), f"{name} has no panel"


def test_every_sql_panel_reads_relations_the_migrations_create():
    known = relations()
    assert {"zone_history_hour", "zone_history_day", "line_history_hour", "alerts"} <= known
    queries = sql_queries(dashboard())
    assert queries
    read: set[str] = set()
    for query in queries:
        names = set(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", query, flags=re.IGNORECASE))
        assert names, f"no relation in {query!r}"
        assert names <= known, f"{sorted(names - known)} in {query!r} do not exist"
        read |= names
    assert any(name.startswith("zone_history_") for name in read)


@pytest.mark.parametrize("kind", ["prometheus", "grafana-postgresql-datasource"])
def test_panels_use_the_datasource_variables(kind):
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"] if v["type"] == "datasource"}
    (name,) = [n for n, v in variables.items() if v["query"] == kind]
    targets = [
        t for p in panels(board) for t in p.get("targets", []) if t["datasource"]["type"] == kind
    ]
    assert targets
    assert {t["datasource"]["uid"] for t in targets} == {f"${{{name}}}"}


def test_panel_ids_are_unique():
    ids = [p["id"] for p in panels(dashboard())]
    assert len(ids) == len(set(ids))
