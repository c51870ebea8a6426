"""Issue 16 (usage): the unmodified OpenMetadata client (1.6.13.2) runs ``metadata usage`` on a
query log (OpenMetadata's CSV: query text, database, schema, user, times) for the SQLite source
ingested into ferrometa, with the ingestion bot's token: each query becomes a query entity named
by its checksum and linked to the tables it used, each table's usage count of the day is
recorded and ranked (``compute.percentile``), and the join of ``orders.customer_id`` with
``customers.id`` becomes ``orders``' ``joins``. All of it is read back over REST."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import requests

from conftest import OmClient
from test_ingestion import SERVICE, assert_ingested, make_source, server_with_bot, write_workflow

QUERIES = [
    "SELECT o.id, c.name FROM orders o JOIN customers c ON o.customer_id = c.id",
    "SELECT name, email FROM customers",
    "SELECT count(*) FROM customers",
]


def query_log(path: Path) -> Path:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    with path.open("w", newline="", encoding="utf-8") as f:
        log = csv.DictWriter(f, fieldnames=["query_text", "database_name", "schema_name", "user_name", "start_time", "end_time", "aborted"])
        log.writeheader()
        for query in QUERIES:
            log.writerow({"query_text": query, "database_name": "shop", "schema_name": "main", "user_name": "", "start_time": now, "end_time": now, "aborted": "false"})
    return path


def usage_workflow(ingest_workflow: Path, log: Path, stage: Path, path: Path) -> Path:
    """The ingestion workflow turned into OpenMetadata's query-log usage workflow."""
    workflow = json.loads(ingest_workflow.read_text(encoding="utf-8"))
    workflow["source"]["type"] = "query-log-usage"
    workflow["source"]["sourceConfig"] = {"config": {"type": "DatabaseUsage", "queryLogFilePath": str(log)}}
    workflow["processor"] = {"type": "query-parser", "config": {}}
    workflow["stage"] = {"type": "table-usage", "config": {"filename": str(stage)}}
    workflow["bulkSink"] = {"type": "metadata-usage", "config": {"filename": str(stage)}}
    del workflow["sink"]
    path.write_text(json.dumps(workflow, indent=2), encoding="utf-8")
    return path


def test_metadata_usage_records_queries_usage_and_joins(start_ferrometa, om_client: OmClient, tmp_path: Path):
    server, admin, bot = server_with_bot(start_ferrometa)
    source = make_source(tmp_path / "shop.db")
    ingest = write_workflow(tmp_path / "ingest.yaml", server, source, bot)
    assert_ingested(om_client.ingest(ingest), "ingest")

    workflow = usage_workflow(ingest, query_log(tmp_path / "queries.csv"), tmp_path / "stage", tmp_path / "usage.yaml")
    run = om_client.workflow("usage", workflow)
    out = run.stdout + run.stderr
    assert run.returncode == 0, f"metadata usage failed:\n{out[-6000:]}"
    assert "Workflow finished with failures" not in out, out[-6000:]

    customers = f"{SERVICE}.shop.main.customers"
    table = server.get(f"/api/v1/tables/name/{requests.utils.quote(customers)}?fields=usageSummary,joins", token=admin)
    assert table.status_code == 200, table.text
    summary = table.json()["usageSummary"]
    assert summary["dailyStats"]["count"] == 3 and summary["date"] == datetime.now(timezone.utc).strftime("%Y-%m-%d"), summary
    assert "percentileRank" in summary["dailyStats"], f"compute.percentile ranked the day: {summary}"
    orders = server.get(f"/api/v1/tables/name/{requests.utils.quote(SERVICE)}.shop.main.orders?fields=joins", token=admin)
    joined = {(c["columnName"], w["fullyQualifiedName"], w["joinCount"]) for c in orders.json()["joins"]["columnJoins"] for w in c["joinedWith"]}
    assert joined == {("customer_id", f"{customers}.id", 1)}, f"the client reports a join on the table whose column is joined: {orders.json()}"

    checksum = hashlib.md5(QUERIES[1].encode()).hexdigest()
    query = server.get(f"/api/v1/queries/name/{checksum}?fields=queryUsedIn", token=admin)
    assert query.status_code == 200, query.text
    assert [t["fullyQualifiedName"] for t in query.json()["queryUsedIn"]] == [customers], query.json()
