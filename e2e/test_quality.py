"""Issue 16 (data quality): the unmodified OpenMetadata clients (1.6.13.2 and 2.0.7.0) run ``metadata test``
against a SQLite source ingested into ferrometa, with the ingestion bot's token: the first run
creates the table's basic suite and the test cases of the workflow (a table row-count test, a
column uniqueness test that passes and one that fails), runs them on the source and sends their
results; a second run finds suite and cases through the server and adds a result each. The
results are read back over REST and through the client's own models (``om_quality_check.py``)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import requests

from conftest import OmClient
from test_ingestion import SERVICE, assert_ingested, make_source, server_with_bot, write_workflow

SCRIPT = Path(__file__).resolve().parent / "om_quality_check.py"
TABLE = f"{SERVICE}.shop.main.customers"
TEST_CASES = [
    {"name": "customers_row_count", "testDefinitionName": "tableRowCountToBeBetween", "parameterValues": [{"name": "minValue", "value": "1"}, {"name": "maxValue", "value": "10"}]},
    {"name": "email_unique", "testDefinitionName": "columnValuesToBeUnique", "columnName": "email"},
    {"name": "name_unique", "testDefinitionName": "columnValuesToBeUnique", "columnName": "name"},
]


def quality_workflow(ingest_workflow: Path, path: Path) -> Path:
    """The ingestion workflow turned into OpenMetadata's data-quality workflow for one table."""
    workflow = json.loads(ingest_workflow.read_text(encoding="utf-8"))
    workflow["source"] = {
        "type": "TestSuite",
        "serviceName": SERVICE,
        "sourceConfig": {"config": {"type": "TestSuite", "entityFullyQualifiedName": TABLE}},
    }
    workflow["processor"] = {"type": "orm-test-runner", "config": {"testCases": TEST_CASES}}
    path.write_text(json.dumps(workflow, indent=2), encoding="utf-8")
    return path


def run_tests(om_client: OmClient, workflow: Path) -> str:
    run = om_client.workflow("test", workflow)
    out = run.stdout + run.stderr
    assert run.returncode == 0, f"metadata test failed:\n{out[-6000:]}"
    assert "Workflow finished with failures" not in out and "Errors: 1" not in out, out[-6000:]
    return out


@pytest.mark.parametrize("client", ["om_client", "om2_client"])
def test_metadata_test_runs_the_workflow_tests_and_stores_their_results(start_ferrometa, client: str, request, tmp_path: Path):
    # The 1.6 client names the table's basic suite in each test case and PUTs results; the 2.0
    # client names no suite and POSTs them.
    om_client: OmClient = request.getfixturevalue(client)
    server, admin, bot = server_with_bot(start_ferrometa, om_client.server_version)
    source = make_source(tmp_path / "shop.db")
    with sqlite3.connect(source) as db:
        db.executemany("INSERT INTO customers (id, name, email) VALUES (?, ?, ?)", [(10, "Ann", "ann@example.com"), (11, "Ann", "ann2@example.com"), (12, "Bob", None)])
    ingest = write_workflow(tmp_path / "ingest.yaml", server, source, bot)
    assert_ingested(om_client.ingest(ingest), "ingest")

    workflow = quality_workflow(ingest, tmp_path / "test.yaml")
    run_tests(om_client, workflow)
    run_tests(om_client, workflow)

    suite = server.get(f"/api/v1/dataQuality/testSuites/name/{requests.utils.quote(TABLE)}.testSuite", token=admin)
    assert suite.status_code == 200 and suite.json()["basic"] is True, suite.text
    cases = server.get(f"/api/v1/dataQuality/testCases?testSuiteId={suite.json()['id']}&fields=testCaseResult", token=admin)
    assert cases.status_code == 200, cases.text
    latest = {c["name"]: c["testCaseResult"]["testCaseStatus"] for c in cases.json()["data"]}
    assert latest == {"customers_row_count": "Success", "email_unique": "Success", "name_unique": "Failed"}, latest

    case_fqn = f"{TABLE}.name.name_unique"
    check = om_client.python(SCRIPT, f"{server.base}/api", bot, case_fqn, cwd=tmp_path)
    assert check.returncode == 0, f"the client could not read the results:\n{check.stdout[-3000:]}\n{check.stderr[-6000:]}"
    seen = json.loads(check.stdout.strip().splitlines()[-1])
    assert seen == {"definition": "columnValuesToBeUnique", "suite": f"{TABLE}.testSuite", "latest": "Failed", "runs": ["Failed", "Failed"]}, seen
