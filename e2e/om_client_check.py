"""Reads entities through the official OpenMetadata client (run with e2e/.venv-om's Python).

    om_client_check.py <hostPort> <jwtToken or token file> <requests.json>

``requests.json`` holds ``{"get": [[kind, fqn], ...], "list": [[kind, {param: value}], ...],
"versions": [[kind, fqn], ...]}``. Every entity goes through the client's own calls
(``get_by_name``, ``get_by_id``, ``list_all_entities``, ``list_versions``,
``get_entity_version``), so the server's answers are parsed by the client's pydantic models
(``extra="forbid"``). Prints one JSON object with what the client saw.
"""

import json
import sys

from metadata.generated.schema.entity.data.database import Database
from metadata.generated.schema.entity.data.databaseSchema import DatabaseSchema
from metadata.generated.schema.entity.data.storedProcedure import StoredProcedure
from metadata.generated.schema.entity.data.table import Table
from metadata.generated.schema.entity.services.connections.metadata.openMetadataConnection import (
    AuthProvider,
    OpenMetadataConnection,
)
from metadata.generated.schema.entity.services.connections.testConnectionDefinition import TestConnectionDefinition
from metadata.generated.schema.entity.services.databaseService import DatabaseService
from metadata.generated.schema.security.client.openMetadataJWTClientConfig import OpenMetadataJWTClientConfig
from metadata.ingestion.ometa.ometa_api import OpenMetadata

KINDS = {
    "databaseService": DatabaseService,
    "database": Database,
    "databaseSchema": DatabaseSchema,
    "table": Table,
    "storedProcedure": StoredProcedure,
    "testConnectionDefinition": TestConnectionDefinition,
}


def dump(model) -> dict | None:
    return None if model is None else json.loads(model.model_dump_json(exclude_none=True))


def main() -> None:
    host_port, token, requests_path = sys.argv[1:4]
    with open(requests_path, encoding="utf-8") as f:
        wanted = json.load(f)
    conn = OpenMetadataConnection(
        hostPort=host_port,
        authProvider=AuthProvider.openmetadata,
        securityConfig=OpenMetadataJWTClientConfig(jwtToken=token),
    )
    om = OpenMetadata(conn)
    assert om.health_check(), "health check failed"
    out: dict = {"get": {}, "by_id": {}, "list": [], "versions": {}}
    for kind, fqn in wanted.get("get", []):
        entity = om.get_by_name(entity=KINDS[kind], fqn=fqn, fields=["*"])
        out["get"][fqn] = dump(entity)
        if entity is not None:
            again = om.get_by_id(entity=KINDS[kind], entity_id=entity.id, fields=["*"])
            out["by_id"][fqn] = dump(again)
    for kind, params in wanted.get("list", []):
        entities = list(om.list_all_entities(entity=KINDS[kind], params=params, limit=2))
        out["list"].append(sorted(str(e.fullyQualifiedName.root) for e in entities))
    for kind, fqn in wanted.get("versions", []):
        entity = om.get_by_name(entity=KINDS[kind], fqn=fqn)
        history = om.list_versions(entity_id=entity.id, entity=KINDS[kind])
        versions = [json.loads(v) if isinstance(v, str) else v for v in history.versions]
        first = om.get_entity_version(entity=KINDS[kind], entity_id=entity.id, version="0.1")
        out["versions"][fqn] = {"count": len(versions), "latest": versions[0]["version"], "first": dump(first)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
