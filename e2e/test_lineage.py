"""Issue 16 (lineage): the unmodified OpenMetadata client (1.6.13.2) adds, patches, reads and
deletes lineage edges on ferrometa with the ingestion bot's token, its own models parsing every
answer (``om_lineage_check.py``)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import OmClient
from test_ingestion import SERVICE, assert_ingested, make_source, server_with_bot, write_workflow

SCRIPT = Path(__file__).resolve().parent / "om_lineage_check.py"
SCHEMA = "lineage_svc.db.sch"


def test_the_clients_lineage_calls_round_trip(start_ferrometa, om_client: OmClient, tmp_path: Path):
    server, _, bot = server_with_bot(start_ferrometa)
    for path, body in [
        ("/api/v1/services/databaseServices", {"name": "lineage_svc", "serviceType": "SQLite"}),
        ("/api/v1/databases", {"name": "db", "service": "lineage_svc"}),
        ("/api/v1/databaseSchemas", {"name": "sch", "database": "lineage_svc.db"}),
    ] + [
        ("/api/v1/tables", {"name": name, "databaseSchema": SCHEMA, "columns": [{"name": "id", "dataType": "INT"}, {"name": "email", "dataType": "VARCHAR", "dataLength": 64}]})
        for name in ("raw", "clean", "report")
    ]:
        r = server.call("PUT", path, token=bot, json=body)
        assert r.status_code in (200, 201), f"{path}: {r.status_code} {r.text}"

    run = om_client.python(SCRIPT, f"{server.base}/api", bot, SCHEMA, cwd=tmp_path)
    assert run.returncode == 0, f"the client's lineage calls failed:\n{run.stdout[-3000:]}\n{run.stderr[-6000:]}"
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["added"] == {"entity": "raw", "nodes": ["clean"], "upstream": [], "downstream": [["raw", "clean"]]}, seen
    assert seen["by_name"] == {"entity": "clean", "nodes": ["raw", "report"], "upstream": [["raw", "clean"]], "downstream": [["clean", "report"]]}, seen
    assert seen["by_id_deep"]["downstream"] == [["clean", "report"], ["raw", "clean"]], seen
    assert seen["edge_columns"] == [f"{SCHEMA}.clean.email", f"{SCHEMA}.clean.id"], "check_patch merged the column lineage through PATCH"
    assert seen["edge_sql"] == "insert into clean select * from raw"
    assert seen["after_delete"] == {"entity": "clean", "nodes": ["raw"], "upstream": [["raw", "clean"]], "downstream": []}, seen


def test_the_lineage_workflow_finds_view_lineage_through_search(start_ferrometa, om_client: OmClient, tmp_path: Path):
    """``metadata ingest`` of a ``sqlite-lineage`` source: the client pages through
    ``/search/query`` with its view filter (``query_filter``, ``sort_field``, ``search_after``),
    parses each view's SQL and writes the edge with its column lineage."""
    server, admin, bot = server_with_bot(start_ferrometa)
    ingest = write_workflow(tmp_path / "ingest.yaml", server, make_source(tmp_path / "shop.db"), bot)
    assert_ingested(om_client.ingest(ingest), "ingest")
    workflow = json.loads(ingest.read_text(encoding="utf-8"))
    workflow["source"]["type"] = "sqlite-lineage"
    workflow["source"]["sourceConfig"] = {"config": {"type": "DatabaseLineage", "processViewLineage": True, "processQueryLineage": False}}
    lineage_yaml = tmp_path / "lineage.yaml"
    lineage_yaml.write_text(json.dumps(workflow), encoding="utf-8")
    run = om_client.ingest(lineage_yaml)
    out = run.stdout + run.stderr
    assert run.returncode == 0 and "Processed records: 1" in out, f"the lineage workflow:\n{out[-5000:]}"

    view = server.get(f"/api/v1/lineage/table/name/{SERVICE}.shop.main.big_orders?upstreamDepth=1&downstreamDepth=0", token=admin).json()
    assert [n["name"] for n in view["nodes"]] == ["orders"], view
    (edge,) = view["upstreamEdges"]
    details = edge["lineageDetails"]
    assert details["source"] == "ViewLineage" and "FROM orders WHERE total >" in details["sqlQuery"], details
    mapped = sorted(c["toColumn"].rsplit(".", 1)[1] for c in details["columnsLineage"])
    assert mapped == ["customer_id", "id", "total"], details["columnsLineage"]
