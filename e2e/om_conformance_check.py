"""Conformance: every entity type's answers parsed by the official client's own models (run with
a client venv's Python; the models are the schema of record).

    om_conformance_check.py <base URL> <token> <JSON: [[collection, FQN], ...]>

For each type, ``GET /api/v1/<collection>/name/<fqn>?fields=*`` and the first page of
``GET /api/v1/<collection>?fields=*`` go through ``Model.model_validate`` of the client's model
of that type (``extra="forbid"``: an unknown field fails, as a missing required one does).
Prints one JSON object: collection -> the validation errors (empty when the answers conform).
"""

import importlib
import json
import sys
from urllib.parse import quote

import requests
from pydantic import ValidationError

# collection -> (module under metadata.generated.schema, class)
MODELS = {
    "services/databaseServices": ("entity.services.databaseService", "DatabaseService"),
    "databases": ("entity.data.database", "Database"),
    "databaseSchemas": ("entity.data.databaseSchema", "DatabaseSchema"),
    "tables": ("entity.data.table", "Table"),
    "storedProcedures": ("entity.data.storedProcedure", "StoredProcedure"),
    "services/dashboardServices": ("entity.services.dashboardService", "DashboardService"),
    "charts": ("entity.data.chart", "Chart"),
    "dashboard/datamodels": ("entity.data.dashboardDataModel", "DashboardDataModel"),
    "dashboards": ("entity.data.dashboard", "Dashboard"),
    "services/pipelineServices": ("entity.services.pipelineService", "PipelineService"),
    "pipelines": ("entity.data.pipeline", "Pipeline"),
    "services/messagingServices": ("entity.services.messagingService", "MessagingService"),
    "topics": ("entity.data.topic", "Topic"),
    "services/mlmodelServices": ("entity.services.mlmodelService", "MlModelService"),
    "mlmodels": ("entity.data.mlmodel", "MlModel"),
    "services/storageServices": ("entity.services.storageService", "StorageService"),
    "containers": ("entity.data.container", "Container"),
    "services/searchServices": ("entity.services.searchService", "SearchService"),
    "searchIndexes": ("entity.data.searchIndex", "SearchIndex"),
    "queries": ("entity.data.query", "Query"),
    "dataQuality/testDefinitions": ("tests.testDefinition", "TestDefinition"),
    "dataQuality/testSuites": ("tests.testSuite", "TestSuite"),
    "dataQuality/testCases": ("tests.testCase", "TestCase"),
    "glossaries": ("entity.data.glossary", "Glossary"),
    "glossaryTerms": ("entity.data.glossaryTerm", "GlossaryTerm"),
    "domains": ("entity.domains.domain", "Domain"),
    "dataProducts": ("entity.domains.dataProduct", "DataProduct"),
    "teams": ("entity.teams.team", "Team"),
    "roles": ("entity.teams.role", "Role"),
    "policies": ("entity.policies.policy", "Policy"),
    "classifications": ("entity.classification.classification", "Classification"),
    "tags": ("entity.classification.tag", "Tag"),
    "users": ("entity.teams.user", "User"),
    "bots": ("entity.bot", "Bot"),
}


def model(collection: str):
    module, name = MODELS[collection]
    return getattr(importlib.import_module(f"metadata.generated.schema.{module}"), name)


def errors(cls, answer: dict) -> list[str]:
    """What the model refuses, one `field: error type` per problem."""
    try:
        cls.model_validate(answer)
        return []
    except ValidationError as e:
        return [f"{'.'.join(str(p) for p in err['loc'])}: {err['type']}" for err in e.errors()]


def main() -> None:
    base, token, targets = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    found = {}
    for collection, fqn in targets:
        cls = model(collection)
        one = session.get(f"{base}/api/v1/{collection}/name/{quote(fqn, safe='')}", params={"fields": "*"}, timeout=30)
        page = session.get(f"{base}/api/v1/{collection}", params={"fields": "*", "limit": 50}, timeout=30)
        problems = [] if one.ok else [f"GET by name: {one.status_code} {one.text[:300]}"]
        problems += [] if page.ok else [f"GET list: {page.status_code} {page.text[:300]}"]
        if one.ok:
            problems += errors(cls, one.json())
        for entity in page.json().get("data", []) if page.ok else []:
            problems += errors(cls, entity)
        found[collection] = sorted(set(problems))
    print(json.dumps(found))


if __name__ == "__main__":
    main()
