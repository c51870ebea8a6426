"""Lineage through the official OpenMetadata client (run with e2e/.venv-om's Python).

    om_lineage_check.py <hostPort> <jwtToken> <schema FQN>

Uses the client's lineage mixin on tables ``raw``, ``clean`` and ``report`` of the schema:
``add_lineage`` (a new edge with column lineage, then the same edge again with
``check_patch=True``, which reads the edge and PATCHes the merged column lineage),
``get_lineage_by_name`` / ``get_lineage_by_id`` (parsed by the client's ``EntityLineage``
model, ``extra="forbid"``), ``get_lineage_edge``, ``delete_lineage_edge``. Prints one JSON
object with what the client saw.
"""

import json
import sys

from metadata.generated.schema.api.lineage.addLineage import AddLineageRequest
from metadata.generated.schema.entity.data.table import Table
from metadata.generated.schema.entity.services.connections.metadata.openMetadataConnection import (
    AuthProvider,
    OpenMetadataConnection,
)
from metadata.generated.schema.security.client.openMetadataJWTClientConfig import OpenMetadataJWTClientConfig
from metadata.generated.schema.type.entityLineage import ColumnLineage, EntitiesEdge, EntityLineage, LineageDetails
from metadata.generated.schema.type.entityReference import EntityReference
from metadata.ingestion.ometa.ometa_api import OpenMetadata


def edge(src: Table, dst: Table, columns: list[tuple[str, str]], sql: str) -> AddLineageRequest:
    lineage = [ColumnLineage(fromColumns=[f"{src.fullyQualifiedName.root}.{a}"], toColumn=f"{dst.fullyQualifiedName.root}.{b}") for a, b in columns]
    return AddLineageRequest(
        edge=EntitiesEdge(
            fromEntity=EntityReference(id=src.id, type="table"),
            toEntity=EntityReference(id=dst.id, type="table"),
            lineageDetails=LineageDetails(sqlQuery=sql, columnsLineage=lineage),
        )
    )


def shape(lineage: dict) -> dict:
    parsed = EntityLineage.model_validate(lineage)
    ids = {str(n.id.root): n.name for n in parsed.nodes or []}
    ids[str(parsed.entity.id.root)] = parsed.entity.name
    pair = lambda e: [ids.get(str(e.fromEntity.root), "?"), ids.get(str(e.toEntity.root), "?")]
    return {
        "entity": parsed.entity.name,
        "nodes": sorted(n.name for n in parsed.nodes or []),
        "upstream": sorted(pair(e) for e in parsed.upstreamEdges or []),
        "downstream": sorted(pair(e) for e in parsed.downstreamEdges or []),
    }


def main() -> None:
    host_port, token, schema = sys.argv[1:4]
    om = OpenMetadata(OpenMetadataConnection(hostPort=host_port, authProvider=AuthProvider.openmetadata, securityConfig=OpenMetadataJWTClientConfig(jwtToken=token)))
    raw, clean, report = (om.get_by_name(entity=Table, fqn=f"{schema}.{name}") for name in ("raw", "clean", "report"))
    out: dict = {}
    out["added"] = shape(om.add_lineage(edge(raw, clean, [("id", "id")], "insert into clean select * from raw")))
    om.add_lineage(edge(clean, report, [("email", "email")], "insert into report select email from clean"))
    # The same edge again with another column: the client reads it and PATCHes the merge.
    om.add_lineage(edge(raw, clean, [("email", "email")], "insert into clean select * from raw"), check_patch=True)
    out["by_name"] = shape(om.get_lineage_by_name(entity=Table, fqn=clean.fullyQualifiedName.root, up_depth=1, down_depth=1))
    out["by_id_deep"] = shape(om.get_lineage_by_id(entity=Table, entity_id=str(raw.id.root), up_depth=0, down_depth=3))
    from metadata.ingestion.ometa.mixins import lineage_mixin

    lineage_mixin.search_cache.clear()
    stored = om.get_lineage_edge(str(raw.id.root), str(clean.id.root))
    out["edge_columns"] = sorted(c["toColumn"] for c in stored["edge"]["columnsLineage"])
    out["edge_sql"] = stored["edge"].get("sqlQuery")
    om.delete_lineage_edge(EntitiesEdge(fromEntity=EntityReference(id=clean.id, type="table"), toEntity=EntityReference(id=report.id, type="table")))
    out["after_delete"] = shape(om.get_lineage_by_name(entity=Table, fqn=clean.fullyQualifiedName.root))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
