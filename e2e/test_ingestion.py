"""Issue 5 acceptance: the unmodified OpenMetadata client (openmetadata-ingestion 1.6.13.2, and
2.0.7.0 for issue 15) ingests a SQLite database into ferrometa with the ingestion bot's token.

- ``metadata ingest -c workflow.yaml`` exits 0 with no failures in its summary, the token given
  inline and as a file path;
- every table, column and type is readable through the REST API and through the client's own
  ``OpenMetadata(...).get_by_name`` (so through its pydantic models);
- re-running creates no duplicates and no new versions;
- a table dropped in the source is marked deleted on the next run; an added column makes a new
  (minor) version whose change description names it;
- a wrong or revoked token makes the client fail with its auth error while the server answers
  401, never 500.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from pathlib import Path

import pytest
import requests

from conftest import Ferrometa, OmClient

ADMIN_PASSWORD = "Adm1n-Passw0rd!"
ENV = {"AUTHORIZER_ADMIN_PRINCIPALS": f"[admin:{ADMIN_PASSWORD}]"}
SERVICE = "local_sqlite"
CHECK_SCRIPT = Path(__file__).resolve().parent / "om_client_check.py"

SOURCE_SQL = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    email TEXT UNIQUE,
    created_at DATETIME,
    balance DECIMAL(10, 2),
    active BOOLEAN,
    photo BLOB
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    ordered_on DATE,
    total REAL,
    note CHAR(20)
);
CREATE TABLE order_items (
    order_id INTEGER NOT NULL REFERENCES orders (id),
    line_no SMALLINT NOT NULL,
    sku VARCHAR(32),
    quantity INTEGER,
    unit_price NUMERIC(8, 3),
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE "audit.log" (happened_at TIMESTAMP, message TEXT);
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
CREATE VIEW big_orders AS SELECT id, customer_id, total FROM orders WHERE total > 100;
INSERT INTO customers (id, name, email) VALUES (1, 'Ada', 'ada@example.com');
INSERT INTO orders (id, customer_id, ordered_on, total) VALUES (1, 1, '2026-01-02', 250.5);
"""

# The OpenMetadata data type each declared SQLite type becomes (the client's SQLAlchemy mapping).
EXPECTED_TYPES = {
    ("customers", "id"): "INT",
    ("customers", "name"): "VARCHAR",
    ("customers", "email"): "TEXT",
    ("customers", "created_at"): "DATETIME",
    ("customers", "balance"): "DECIMAL",
    ("customers", "active"): "BOOLEAN",
    ("customers", "photo"): "BLOB",
    ("orders", "ordered_on"): "DATE",
    ("orders", "note"): "CHAR",
    ("order_items", "line_no"): "SMALLINT",
    ("order_items", "unit_price"): "NUMERIC",
    ("audit.log", "happened_at"): "TIMESTAMP",
}


# --- helpers ----------------------------------------------------------------------------------


def admin_token(server: Ferrometa) -> str:
    r = server.call("POST", "/api/v1/users/login", json={"email": "admin@open-metadata.org", "password": base64.b64encode(ADMIN_PASSWORD.encode()).decode()})
    assert r.status_code == 200, r.text
    return r.json()["accessToken"]


def ingestion_bot(server: Ferrometa, admin: str) -> tuple[str, str]:
    """(bot user id, current JWT) of the ingestion bot, read with the admin's session."""
    bot = server.get("/api/v1/bots/name/ingestion-bot", token=admin)
    assert bot.status_code == 200, bot.text
    user_id = bot.json()["botUser"]["id"]
    token = server.get(f"/api/v1/users/token/{user_id}", token=admin)
    assert token.status_code == 200, token.text
    return user_id, token.json()["JWTToken"]


def server_with_bot(start_ferrometa, om_version: str = "1.6.13") -> tuple[Ferrometa, str, str]:
    """A fresh server (admin principal with a password) reporting ``om_version``, the admin's token
    and the ingestion bot's."""
    server = start_ferrometa(ENV | {"FERROMETA_OM_VERSION": om_version})
    admin = admin_token(server)
    return server, admin, ingestion_bot(server, admin)[1]


def make_source(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.executescript(SOURCE_SQL)
    return path


def source_columns(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Table (and view) name -> [(column, declared type)] as SQLite reports them."""
    with sqlite3.connect(path) as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'")]
        return {n: [(c[1], c[2]) for c in db.execute(f'PRAGMA table_info("{n}")')] for n in names}


def write_workflow(path: Path, server: Ferrometa, source: Path, jwt: str) -> Path:
    """The workflow of OpenMetadata's SQLite guide; JSON is YAML."""
    workflow = {
        "source": {
            "type": "sqlite",
            "serviceName": SERVICE,
            "serviceConnection": {"config": {"type": "SQLite", "database": "shop", "databaseMode": str(source)}},
            "sourceConfig": {"config": {"type": "DatabaseMetadata", "markDeletedTables": True, "includeViews": True, "includeDDL": True}},
        },
        "sink": {"type": "metadata-rest", "config": {}},
        "workflowConfig": {
            "loggerLevel": "INFO",
            "openMetadataServerConfig": {"hostPort": f"{server.base}/api", "authProvider": "openmetadata", "securityConfig": {"jwtToken": jwt}},
        },
    }
    path.write_text(json.dumps(workflow, indent=2), encoding="utf-8")
    return path


SUMMARY_ROW = re.compile(r"^\s*[|│]?\s*(?P<step>[A-Za-z][\w\- ]*?)\s*[|│]\s*(?P<records>\d+)\s*[|│]\s*(?P<updated>\d+)?\s*[|│]?\s*(?P<warnings>\d+)\s*[|│]\s*(?P<errors>\d+)")


def assert_ingested(run, what: str) -> str:
    out = run.stdout + run.stderr
    assert run.returncode == 0, f"{what}: metadata ingest exited {run.returncode}\n{out[-6000:]}"
    assert "Workflow finished with failures" not in out and "Workflow Failed" not in out, f"{what}:\n{out[-6000:]}"
    assert re.search(r"Success %\s*[:|│]?\s*100", out) or "Workflow finished successfully" in out, f"{what}: no success in the summary\n{out[-6000:]}"
    return out


def fqn_part(name: str) -> str:
    return f'"{name}"' if "." in name else name


def table_fqn(database: str, schema: str, table: str) -> str:
    return ".".join([SERVICE, fqn_part(database), fqn_part(schema), fqn_part(table)])


def client_view(om_client: OmClient, server: Ferrometa, token: str, wanted: dict, tmp_path: Path) -> dict:
    req = tmp_path / "client-requests.json"
    req.write_text(json.dumps(wanted), encoding="utf-8")
    run = om_client.python(CHECK_SCRIPT, f"{server.base}/api", token, str(req), cwd=tmp_path)
    assert run.returncode == 0, f"the client could not read the catalog:\n{run.stdout[-3000:]}\n{run.stderr[-6000:]}"
    return json.loads(run.stdout.strip().splitlines()[-1])


def all_pages(server: Ferrometa, path: str, token: str) -> list[dict]:
    items, after = [], None
    while True:
        sep = "&" if "?" in path else "?"
        r = server.get(f"{path}{sep}limit=2" + (f"&after={after}" if after else ""), token=token)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["data"]
        after = body["paging"].get("after")
        if not after:
            return items


def snapshot(server: Ferrometa, token: str) -> dict[str, tuple[str, float]]:
    """FQN -> (id, version) of every data asset, walking the lists page by page."""
    out = {}
    for collection in ("services/databaseServices", "databases", "databaseSchemas", "tables", "storedProcedures"):
        for e in all_pages(server, f"/api/v1/{collection}?include=all", token):
            assert e["fullyQualifiedName"] not in out, f"duplicate {e['fullyQualifiedName']}"
            out[e["fullyQualifiedName"]] = (e["id"], e["version"], e["deleted"])
    return out


def http_statuses(server: Ferrometa) -> dict[str, int]:
    """Requests answered so far by status, from the admin listener's Prometheus metrics."""
    counts: dict[str, int] = {}
    for line in requests.get(f"{server.admin_base}/metrics", timeout=30).text.splitlines():
        # Route labels hold braces (`/tables/{id}`): the labels end at the last `}`.
        m = re.match(r"ferrometa_http_requests_total\{(?P<labels>.*)\}\s+(?P<n>[\d.e+]+)$", line)
        if m:
            status = re.search(r'status="(\d+)"', m["labels"])[1]
            counts[status] = counts.get(status, 0) + int(float(m["n"]))
    return counts


# --- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["om_client", "om2_client"])
def test_client_ingests_sqlite_then_reruns_without_changes_and_follows_source_changes(start_ferrometa, client: str, request, tmp_path: Path):
    # The 1.6 client PUTs each entity; the 2.0 client sends them in batches (`PUT .../bulk`).
    om_client: OmClient = request.getfixturevalue(client)
    server, admin, bot = server_with_bot(start_ferrometa, om_client.server_version)
    source = make_source(tmp_path / "shop.db")

    # 1. First run, token inline.
    out = assert_ingested(om_client.ingest(write_workflow(tmp_path / "inline.yaml", server, source, bot)), "first run")

    service = server.get(f"/api/v1/services/databaseServices/name/{SERVICE}", token=admin).json()
    assert service["serviceType"] == "SQLite" and service["fullyQualifiedName"] == SERVICE, service
    databases = all_pages(server, f"/api/v1/databases?service={SERVICE}", admin)
    assert len(databases) == 1, databases
    database = databases[0]
    assert database["service"]["id"] == service["id"] and database["serviceType"] == "SQLite"
    schemas = all_pages(server, f"/api/v1/databaseSchemas?database={database['fullyQualifiedName']}", admin)
    assert len(schemas) == 1, schemas
    schema = schemas[0]
    assert schema["database"]["id"] == database["id"] and schema["service"]["id"] == service["id"]

    expected = source_columns(source)
    tables = {t["name"]: t for t in all_pages(server, f"/api/v1/tables?databaseSchema={schema['fullyQualifiedName']}", admin)}
    assert sorted(tables) == sorted(expected), f"tables {sorted(tables)} vs source {sorted(expected)}\n{out[-3000:]}"
    by_database = all_pages(server, f"/api/v1/tables?database={database['fullyQualifiedName']}", admin)
    assert sorted(t["name"] for t in by_database) == sorted(expected)
    for name, columns in expected.items():
        t = tables[name]
        fqn = table_fqn(database["name"], schema["name"], name)
        assert t["fullyQualifiedName"] == fqn
        assert (t["databaseSchema"]["id"], t["database"]["id"], t["service"]["id"]) == (schema["id"], database["id"], service["id"])
        assert [c["name"] for c in t["columns"]] == [c for c, _ in columns], name
        for col in t["columns"]:
            assert col["fullyQualifiedName"] == f"{fqn}.{fqn_part(col['name'])}"
            assert col["dataType"], col
            if (name, col["name"]) in EXPECTED_TYPES:
                assert col["dataType"] == EXPECTED_TYPES[(name, col["name"])], (name, col)
        by_name = server.get(f"/api/v1/tables/name/{requests.utils.quote(fqn)}?fields=columns,tableConstraints", token=admin)
        assert by_name.status_code == 200 and by_name.json() == t
    customers = tables["customers"]
    name_col = next(c for c in customers["columns"] if c["name"] == "name")
    assert name_col["dataLength"] == 100 and name_col["constraint"] == "NOT_NULL", name_col
    assert next(c for c in customers["columns"] if c["name"] == "id")["constraint"] == "PRIMARY_KEY"
    items_pk = [c for c in tables["order_items"].get("tableConstraints", []) if c["constraintType"] == "PRIMARY_KEY"]
    assert items_pk and sorted(items_pk[0]["columns"]) == ["line_no", "order_id"], tables["order_items"].get("tableConstraints")
    foreign = [c for c in tables["orders"].get("tableConstraints", []) if c["constraintType"] == "FOREIGN_KEY"]
    assert foreign and foreign[0]["columns"] == ["customer_id"], tables["orders"].get("tableConstraints")
    assert foreign[0]["referredColumns"] == [f"{table_fqn(database['name'], schema['name'], 'customers')}.id"]
    view = tables["big_orders"]
    assert view["tableType"] == "View" and "total > 100" in view.get("schemaDefinition", ""), view

    # 2. The client reads everything back through its own API and models.
    wanted = {
        "get": [["databaseService", SERVICE], ["database", database["fullyQualifiedName"]], ["databaseSchema", schema["fullyQualifiedName"]]]
        + [["table", t["fullyQualifiedName"]] for t in tables.values()]
        + [["testConnectionDefinition", "SQLite.testConnectionDefinition"]],
        "list": [["table", {"database": database["fullyQualifiedName"]}], ["table", {"databaseSchema": schema["fullyQualifiedName"]}]],
        "versions": [["table", customers["fullyQualifiedName"]]],
    }
    seen = client_view(om_client, server, bot, wanted, tmp_path)
    for t in tables.values():
        got = seen["get"][t["fullyQualifiedName"]]
        assert got is not None, t["fullyQualifiedName"]
        assert [(c["name"], c["dataType"]) for c in got["columns"]] == [(c["name"], c["dataType"]) for c in t["columns"]]
        assert seen["by_id"][t["fullyQualifiedName"]]["id"] == t["id"]
    assert seen["get"][SERVICE]["serviceType"] == "SQLite"
    assert seen["get"]["SQLite.testConnectionDefinition"]["steps"][0]["name"] == "CheckAccess"
    assert seen["list"] == [sorted(t["fullyQualifiedName"] for t in tables.values())] * 2
    assert seen["versions"][customers["fullyQualifiedName"]]["count"] == 1

    # 3. Second run, token from a file: no duplicates, no new versions.
    before = snapshot(server, admin)
    token_file = tmp_path / "bot.jwt"
    token_file.write_text(bot + "\n", encoding="utf-8")
    assert_ingested(om_client.ingest(write_workflow(tmp_path / "from-file.yaml", server, source, str(token_file))), "second run (token file)")
    assert snapshot(server, admin) == before

    # 4. The source changes: a table is dropped, a column added.
    with sqlite3.connect(source) as db:
        db.executescript("DROP TABLE notes; ALTER TABLE customers ADD COLUMN loyalty_tier VARCHAR(10);")
    assert_ingested(om_client.ingest(tmp_path / "inline.yaml"), "third run (source changed)")
    notes_fqn = tables["notes"]["fullyQualifiedName"]
    assert server.get(f"/api/v1/tables/name/{notes_fqn}", token=admin).status_code == 404
    notes = server.get(f"/api/v1/tables/name/{notes_fqn}?include=deleted", token=admin).json()
    assert notes["deleted"] is True, notes
    changed = server.get(f"/api/v1/tables/name/{customers['fullyQualifiedName']}", token=admin).json()
    assert changed["columns"][-1]["name"] == "loyalty_tier" and changed["columns"][-1]["dataType"] == "VARCHAR"
    assert changed["version"] == pytest.approx(0.2), changed["version"]
    added = changed["changeDescription"]["fieldsAdded"]
    assert any(f["name"] == "columns" and "loyalty_tier" in f["newValue"] for f in added), changed["changeDescription"]
    history = server.get(f"/api/v1/tables/{changed['id']}/versions", token=admin).json()
    assert [json.loads(v)["version"] for v in history["versions"]] == [pytest.approx(0.2), pytest.approx(0.1)]
    after = snapshot(server, admin)
    unchanged = {k: v for k, v in before.items() if k not in (notes_fqn, customers["fullyQualifiedName"])}
    assert {k: after[k] for k in unchanged} == unchanged, "only the changed tables have new versions"
    assert http_statuses(server).get("500", 0) == 0


def test_wrong_or_revoked_bot_token_fails_with_the_clients_auth_error(start_ferrometa, om_client: OmClient, tmp_path: Path):
    server = start_ferrometa(ENV)
    admin = admin_token(server)
    bot_id, bot = ingestion_bot(server, admin)
    source = make_source(tmp_path / "shop.db")

    def assert_refused(token: str, what: str) -> None:
        # What the server answers this token: 401 in OpenMetadata's error shape...
        r = server.get("/api/v1/services/testConnectionDefinitions/name/SQLite.testConnectionDefinition", token=token)
        assert r.status_code == 401 and r.json()["code"] == 401, f"{what}: {r.status_code} {r.text}"
        # ...and the client stops before ingesting anything, showing that message.
        run = om_client.ingest(write_workflow(tmp_path / f"{what}.yaml", server, source, token))
        out = run.stdout + run.stderr
        assert run.returncode != 0, f"{what}: {out[-4000:]}"
        assert "Error initializing metadata" in out and r.json()["message"] in out, f"{what}: {out[-4000:]}"

    header, payload, signature = bot.split(".")
    assert_refused(f"{header}.{payload}.{signature[:-6]}AAAAAA", "forged-signature")
    assert_refused("not-a-jwt", "garbage")
    revoked = server.call("PUT", "/api/v1/users/revokeToken", token=admin, json={"id": bot_id})
    assert revoked.status_code == 200, revoked.text
    assert_refused(bot, "revoked")

    statuses = http_statuses(server)
    assert statuses.get("401", 0) >= 6 and statuses.get("500", 0) == 0, statuses
    # Nothing was written with the refused tokens.
    assert server.get(f"/api/v1/services/databaseServices/name/{SERVICE}", token=admin).status_code == 404
