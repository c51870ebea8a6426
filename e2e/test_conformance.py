"""Issue 15 (conformance): one entity of every type ferrometa serves, written over REST, then
read back with every field by each official client's own models (1.6.13.2 and 2.0.7.0, the
server reporting the matching version; ``om_conformance_check.py``): by name and in lists, each
answer must validate (``Model.model_validate``, no unknown field, none missing)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from conftest import Ferrometa, OmClient
from test_ingestion import server_with_bot

SCRIPT = Path(__file__).resolve().parent / "om_conformance_check.py"

# (collection, create request) in dependency order; `None` marks what the server seeds.
ENTITIES = [
    ("domains", {"name": "Sales", "domainType": "Aggregate", "description": "Selling"}),
    ("dataProducts", {"name": "Revenue", "description": "Revenue data", "domain": "Sales"}),
    ("services/databaseServices", {"name": "cf_db", "serviceType": "Mysql", "connection": {"config": {"type": "Mysql", "username": "u", "authType": {"password": "p"}, "hostPort": "db:3306"}}}),
    ("databases", {"name": "shop", "service": "cf_db"}),
    ("databaseSchemas", {"name": "main", "database": "cf_db.shop"}),
    ("tables", {"name": "orders", "databaseSchema": "cf_db.shop.main", "columns": [{"name": "id", "dataType": "INT"}, {"name": "email", "dataType": "VARCHAR", "dataLength": 64}],
                "tags": [{"tagFQN": "PII.Sensitive", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}]}),
    ("storedProcedures", {"name": "refresh", "databaseSchema": "cf_db.shop.main", "storedProcedureCode": {"language": "SQL", "code": "select 1"}}),
    ("services/dashboardServices", {"name": "cf_bi", "serviceType": "Superset"}),
    ("charts", {"name": "revenue", "service": "cf_bi", "chartType": "Line", "domain": "Sales", "dataProducts": ["Revenue"]}),
    ("dashboard/datamodels", {"name": "model", "service": "cf_bi", "dataModelType": "SupersetDataModel", "columns": [{"name": "amount", "dataType": "DOUBLE"}]}),
    ("dashboards", {"name": "sales", "service": "cf_bi", "charts": ["cf_bi.revenue"], "dataModels": ["cf_bi.model"]}),
    ("services/pipelineServices", {"name": "cf_airflow", "serviceType": "Airflow"}),
    ("pipelines", {"name": "nightly", "service": "cf_airflow", "tasks": [{"name": "load"}]}),
    ("services/messagingServices", {"name": "cf_kafka", "serviceType": "Kafka"}),
    ("topics", {"name": "events", "service": "cf_kafka", "partitions": 3}),
    ("services/mlmodelServices", {"name": "cf_mlflow", "serviceType": "Mlflow"}),
    ("mlmodels", {"name": "churn", "service": "cf_mlflow", "algorithm": "xgboost"}),
    ("services/storageServices", {"name": "cf_lake", "serviceType": "S3"}),
    ("containers", {"name": "raw", "service": "cf_lake"}),
    ("services/searchServices", {"name": "cf_es", "serviceType": "ElasticSearch"}),
    ("searchIndexes", {"name": "products", "service": "cf_es", "fields": [{"name": "title", "dataType": "TEXT"}]}),
    ("queries", {"query": "select id from orders", "service": "cf_db"}),
    ("dataQuality/testSuites/basic", {"name": "cf_db.shop.main.orders.testSuite", "basicEntityReference": "cf_db.shop.main.orders"}),
    ("dataQuality/testCases", {"name": "unique_email", "entityLink": "<#E::table::cf_db.shop.main.orders::columns::email>", "testDefinition": "columnValuesToBeUnique"}),
    ("glossaries", {"name": "Business", "description": "Terms"}),
    ("glossaryTerms", {"glossary": "Business", "name": "Revenue", "description": "Money in", "synonyms": ["Income"]}),
    ("teams", {"name": "analysts", "teamType": "Group"}),
    ("classifications", {"name": "Quality", "description": "How good"}),
    ("tags", {"name": "Gold", "description": "Best", "classification": "Quality"}),
]

# collection -> FQN of the entity read back by name.
READ = {
    "services/databaseServices": "cf_db", "databases": "cf_db.shop", "databaseSchemas": "cf_db.shop.main", "tables": "cf_db.shop.main.orders",
    "storedProcedures": "cf_db.shop.main.refresh", "services/dashboardServices": "cf_bi", "charts": "cf_bi.revenue", "dashboard/datamodels": "cf_bi.model",
    "dashboards": "cf_bi.sales", "services/pipelineServices": "cf_airflow", "pipelines": "cf_airflow.nightly", "services/messagingServices": "cf_kafka",
    "topics": "cf_kafka.events", "services/mlmodelServices": "cf_mlflow", "mlmodels": "cf_mlflow.churn", "services/storageServices": "cf_lake",
    "containers": "cf_lake.raw", "services/searchServices": "cf_es", "searchIndexes": "cf_es.products",
    # A query is named by OpenMetadata's checksum of its text.
    "queries": hashlib.md5(b"select id from orders").hexdigest(),
    "dataQuality/testDefinitions": "columnValuesToBeUnique", "dataQuality/testSuites": "cf_db.shop.main.orders.testSuite",
    "dataQuality/testCases": "cf_db.shop.main.orders.email.unique_email", "glossaries": "Business", "glossaryTerms": "Business.Revenue", "teams": "analysts",
    "roles": "DataSteward", "domains": "Sales", "dataProducts": "Revenue", "policies": "DataConsumerPolicy", "classifications": "Quality", "tags": "Quality.Gold", "users": "admin", "bots": "ingestion-bot",
}


# OpenMetadata 2.0 gives every asset `domains` (a list) where 1.6 has `domain`; ferrometa serves
# 1.6's shape, so domains are checked with the 1.6 client only (a known gap, see the README).
DOMAIN_TYPES = {"domains", "dataProducts"}


def for_client(client: str) -> tuple[list, dict]:
    if client == "om_client":
        return ENTITIES, READ
    entities = [(c, {k: v for k, v in body.items() if k not in ("domain", "dataProducts")}) for c, body in ENTITIES if c not in DOMAIN_TYPES]
    return entities, {c: fqn for c, fqn in READ.items() if c not in DOMAIN_TYPES}


def populate(server: Ferrometa, admin: str, entities: list) -> None:
    for collection, body in entities:
        answer = server.call("PUT", f"/api/v1/{collection}", token=admin, json=body)
        assert answer.status_code in (200, 201), f"{collection}: {answer.status_code} {answer.text}"


@pytest.mark.parametrize("client", ["om_client", "om2_client"])
def test_every_entity_type_validates_against_the_clients_models(start_ferrometa, client: str, request, tmp_path: Path):
    om_client: OmClient = request.getfixturevalue(client)
    server, admin, _ = server_with_bot(start_ferrometa, om_client.server_version)
    entities, read = for_client(client)
    populate(server, admin, entities)
    run = om_client.python(SCRIPT, server.base, admin, json.dumps(sorted(read.items())), cwd=tmp_path)
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-6000:]}"
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert sorted(found) == sorted(read), "every type checked"
    failing = {collection: problems for collection, problems in found.items() if problems}
    assert not failing, json.dumps(failing, indent=1)[:12000]
