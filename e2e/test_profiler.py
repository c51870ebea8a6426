"""Issue 16 (profiles): the unmodified OpenMetadata client (1.6.13.2) runs ``metadata profile``
against a SQLite source ingested into ferrometa, with the ingestion bot's token: the workflow
reads ``profilerConfiguration``, computes and sends every table's and column's profile, and the
client reads them back through its own models (``om_profile_check.py``). ``metadata classify``
with ``storeSampleData`` stores each table's sample rows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import requests

from conftest import OmClient
from test_ingestion import SERVICE, assert_ingested, make_source, server_with_bot, write_workflow

SCRIPT = Path(__file__).resolve().parent / "om_profile_check.py"


def profiler_workflow(ingest_workflow: Path, path: Path) -> Path:
    """The ingestion workflow turned into OpenMetadata's profiler workflow. The client's SQLite
    profiler computes metrics in worker threads on connections made elsewhere: sqlite3 needs
    `check_same_thread=False` for that (a client-side matter, as with any server)."""
    workflow = json.loads(ingest_workflow.read_text(encoding="utf-8"))
    workflow["source"]["serviceConnection"]["config"]["connectionArguments"] = {"check_same_thread": False}
    workflow["source"]["sourceConfig"] = {"config": {"type": "Profiler", "threadCount": 1}}
    workflow["processor"] = {"type": "orm-profiler", "config": {}}
    path.write_text(json.dumps(workflow, indent=2), encoding="utf-8")
    return path


def ingested_shop(start_ferrometa, om_client: OmClient, tmp_path: Path, bob_email: str | None):
    """A server with the SQLite source ingested (a second customer, Bob); the server, the
    admin's and the bot's tokens and the ingestion workflow."""
    server, admin, bot = server_with_bot(start_ferrometa)
    source = make_source(tmp_path / "shop.db")
    with sqlite3.connect(source) as db:
        # The client's SQLite profiler does not quote dotted table names (its bug, not ours).
        db.execute('DROP TABLE "audit.log"')
        db.execute("INSERT INTO customers (id, name, email) VALUES (2, 'Bob', ?)", (bob_email,))
    ingest = write_workflow(tmp_path / "ingest.yaml", server, source, bot)
    assert_ingested(om_client.ingest(ingest), "ingest")
    return server, admin, bot, ingest


def test_metadata_profile_stores_profiles_the_client_reads_back(start_ferrometa, om_client: OmClient, tmp_path: Path):
    server, admin, bot, ingest = ingested_shop(start_ferrometa, om_client, tmp_path, None)

    run = om_client.workflow("profile", profiler_workflow(ingest, tmp_path / "profile.yaml"))
    out = run.stdout + run.stderr
    assert run.returncode == 0, f"metadata profile failed:\n{out[-6000:]}"
    assert "Errors: 0" in out and "Errors: 1" not in out, out[-4000:]

    table = f"{SERVICE}.shop.main.customers"
    latest = server.get(f"/api/v1/tables/{requests.utils.quote(table)}/tableProfile/latest", token=admin)
    assert latest.status_code == 200, latest.text
    assert latest.json()["profile"]["rowCount"] == 2, latest.json()["profile"]
    email = next(c for c in latest.json()["columns"] if c["name"] == "email")
    assert email["profile"]["nullCount"] == 1, email

    check = om_client.python(SCRIPT, f"{server.base}/api", bot, table, "email", cwd=tmp_path)
    assert check.returncode == 0, f"the client could not read the profiles:\n{check.stdout[-3000:]}\n{check.stderr[-6000:]}"
    seen = json.loads(check.stdout.strip().splitlines()[-1])
    assert seen == {"rowCount": 2, "columnCount": 7, "column": {"name": "email", "nullCount": 1, "valuesCount": 1}, "table_series": 1, "column_series": 1}, seen


def test_metadata_classify_stores_sample_data(start_ferrometa, om_client: OmClient, tmp_path: Path):
    """``metadata classify`` with ``storeSampleData`` (the 1.6 profiler itself no longer stores
    sample rows): the sampler's rows of every table, read back over REST."""
    server, admin, _, ingest = ingested_shop(start_ferrometa, om_client, tmp_path, "bob@example.com")

    workflow = json.loads(profiler_workflow(ingest, tmp_path / "classify.yaml").read_text(encoding="utf-8"))
    workflow["source"]["sourceConfig"] = {"config": {"type": "AutoClassification", "storeSampleData": True, "enableAutoClassification": False}}
    (tmp_path / "classify.yaml").write_text(json.dumps(workflow), encoding="utf-8")
    run = om_client.workflow("classify", tmp_path / "classify.yaml")
    out = run.stdout + run.stderr
    assert run.returncode == 0, f"metadata classify failed:\n{out[-6000:]}"
    assert "Workflow finished with failures" not in out, out[-6000:]

    table = server.get(f"/api/v1/tables/name/{requests.utils.quote(f'{SERVICE}.shop.main.customers')}", token=admin).json()
    sample = server.get(f"/api/v1/tables/{table['id']}/sampleData", token=admin)
    assert sample.status_code == 200, sample.text
    data = sample.json()["sampleData"]
    assert "email" in data["columns"], data
    emails = {row[data["columns"].index("email")] for row in data["rows"]}
    assert "bob@example.com" in emails, data
