"""Drives every asset family through the official OpenMetadata client (run with a client
venv's Python), as a connector or a user of the SDK would:

    om_sdk_families.py <hostPort> <jwtToken>

For each family: ``create_or_update`` of the service and of one asset (the client's Create*
models), ``get_by_name`` and ``get_by_id`` with every field (parsed by the client's
``extra="forbid"`` models), ``list_all_entities`` under the service, ``patch_description``,
``patch_tags`` with a seeded tag on an untagged asset, ``list_versions``, a pipeline's
``add_pipeline_status``, then a recursive hard
``delete`` of the service; and a glossary with a term and a child term (``glossary``). Prints
one JSON object: family -> what the client saw.
"""

import json
import sys
from importlib.metadata import version

from metadata.generated.schema.api.data.createChart import CreateChartRequest
from metadata.generated.schema.api.data.createContainer import CreateContainerRequest
from metadata.generated.schema.api.data.createDashboard import CreateDashboardRequest
from metadata.generated.schema.api.data.createGlossary import CreateGlossaryRequest
from metadata.generated.schema.api.data.createGlossaryTerm import CreateGlossaryTermRequest
from metadata.generated.schema.api.data.createMlModel import CreateMlModelRequest
from metadata.generated.schema.api.data.createPipeline import CreatePipelineRequest
from metadata.generated.schema.api.data.createSearchIndex import CreateSearchIndexRequest
from metadata.generated.schema.api.data.createTopic import CreateTopicRequest
from metadata.generated.schema.api.services.createDashboardService import CreateDashboardServiceRequest
from metadata.generated.schema.api.services.createMessagingService import CreateMessagingServiceRequest
from metadata.generated.schema.api.services.createMlModelService import CreateMlModelServiceRequest
from metadata.generated.schema.api.services.createPipelineService import CreatePipelineServiceRequest
from metadata.generated.schema.api.services.createSearchService import CreateSearchServiceRequest
from metadata.generated.schema.api.services.createStorageService import CreateStorageServiceRequest
from metadata.generated.schema.entity.data.chart import Chart
from metadata.generated.schema.entity.data.container import Container
from metadata.generated.schema.entity.data.dashboard import Dashboard
from metadata.generated.schema.entity.data.glossary import Glossary
from metadata.generated.schema.entity.data.glossaryTerm import GlossaryTerm
from metadata.generated.schema.entity.data.mlmodel import MlModel
from metadata.generated.schema.entity.data.pipeline import Pipeline, PipelineStatus, StatusType, Task
from metadata.generated.schema.entity.data.searchIndex import SearchIndex
from metadata.generated.schema.entity.data.topic import Topic
from metadata.generated.schema.entity.services.connections.metadata.openMetadataConnection import (
    AuthProvider,
    OpenMetadataConnection,
)
from metadata.generated.schema.entity.services.dashboardService import DashboardService, DashboardServiceType
from metadata.generated.schema.entity.services.messagingService import MessagingService, MessagingServiceType
from metadata.generated.schema.entity.services.mlmodelService import MlModelService, MlModelServiceType
from metadata.generated.schema.entity.services.pipelineService import PipelineService, PipelineServiceType
from metadata.generated.schema.entity.services.searchService import SearchService, SearchServiceType
from metadata.generated.schema.entity.services.storageService import StorageService, StorageServiceType
from metadata.generated.schema.security.client.openMetadataJWTClientConfig import OpenMetadataJWTClientConfig
from metadata.generated.schema.type.tagLabel import LabelType, State, TagLabel, TagSource
from metadata.ingestion.ometa.ometa_api import OpenMetadata

# family -> (service entity, its create request, asset entity, the asset's create request given the service name)
FAMILIES = {
    "chart": (DashboardService, CreateDashboardServiceRequest(name="sdk_bi", serviceType=DashboardServiceType.Superset), Chart, lambda s: CreateChartRequest(name="revenue", service=s)),
    "dashboard": (DashboardService, CreateDashboardServiceRequest(name="sdk_bi2", serviceType=DashboardServiceType.Looker), Dashboard, lambda s: CreateDashboardRequest(name="sales", service=s)),
    "pipeline": (
        PipelineService,
        CreatePipelineServiceRequest(name="sdk_airflow", serviceType=PipelineServiceType.Airflow),
        Pipeline,
        lambda s: CreatePipelineRequest(name="nightly", service=s, tasks=[Task(name="extract"), Task(name="load")]),
    ),
    "topic": (MessagingService, CreateMessagingServiceRequest(name="sdk_kafka", serviceType=MessagingServiceType.Kafka), Topic, lambda s: CreateTopicRequest(name="orders", service=s, partitions=3)),
    "mlmodel": (MlModelService, CreateMlModelServiceRequest(name="sdk_mlflow", serviceType=MlModelServiceType.Mlflow), MlModel, lambda s: CreateMlModelRequest(name="churn", service=s, algorithm="xgboost")),
    "container": (StorageService, CreateStorageServiceRequest(name="sdk_lake", serviceType=StorageServiceType.S3), Container, lambda s: CreateContainerRequest(name="raw", service=s)),
    "searchIndex": (
        SearchService,
        CreateSearchServiceRequest(name="sdk_es", serviceType=SearchServiceType.ElasticSearch),
        SearchIndex,
        lambda s: CreateSearchIndexRequest(name="products", service=s, fields=[{"name": "title", "dataType": "TEXT"}]),
    ),
}


def dump(model) -> dict | None:
    return None if model is None else json.loads(model.model_dump_json(exclude_none=True))


def family(om: OpenMetadata, service_type, create_service, asset_type, create_asset) -> dict:
    service = om.create_or_update(create_service)
    asset = om.create_or_update(create_asset(service.fullyQualifiedName.root))
    fqn = asset.fullyQualifiedName.root
    read = om.get_by_name(entity=asset_type, fqn=fqn, fields=["*"])
    by_id = om.get_by_id(entity=asset_type, entity_id=asset.id, fields=["*"])
    listed = [e.fullyQualifiedName.root for e in om.list_all_entities(entity=asset_type, params={"service": service.name.root})]
    described = om.patch_description(entity=asset_type, source=read, description="curated", force=True)
    tier = TagLabel(tagFQN="Tier.Tier1", source=TagSource.Classification, labelType=LabelType.Manual, state=State.Confirmed)
    tagged = om.patch_tags(entity=asset_type, source=om.get_by_name(entity=asset_type, fqn=fqn, fields=["tags"]), tag_labels=[tier])
    versions = om.list_versions(entity_id=asset.id, entity=asset_type)
    run = None
    if asset_type is Pipeline:
        status = PipelineStatus(timestamp=1_796_000_000_000, executionStatus=StatusType.Successful)
        run = om.add_pipeline_status(fqn=fqn, status=status).pipelineStatus.executionStatus.value
    om.delete(entity=service_type, entity_id=service.id, recursive=True, hard_delete=True)
    return {
        "fqn": fqn,
        "read": dump(read),
        "by_id": dump(by_id),
        "listed": listed,
        "description": described.description.root if described and described.description else None,
        "tags": [t.tagFQN.root for t in (tagged.tags or [])] if tagged else None,
        "versions": len(versions.versions),
        "run": run,
        "gone": om.get_by_name(entity=asset_type, fqn=fqn) is None,
    }


def glossary(om: OpenMetadata) -> dict:
    created = om.create_or_update(CreateGlossaryRequest(name="sdk_glossary", displayName="SDK", description="Terms"))
    term = om.create_or_update(CreateGlossaryTermRequest(glossary="sdk_glossary", name="Revenue", description="Money in", synonyms=["Income"]))
    # Related terms as 1.6 shapes them (references); 2.0's typed relations ({term, relationType})
    # are not served yet, so the 2.0 client creates none.
    related = [term.fullyQualifiedName.root] if version("openmetadata-ingestion").startswith("1.") else None
    child = om.create_or_update(CreateGlossaryTermRequest(glossary="sdk_glossary", parent=term.fullyQualifiedName.root, name="Net", description="After costs", relatedTerms=related))
    fqn = child.fullyQualifiedName.root
    read = om.get_by_name(entity=GlossaryTerm, fqn=fqn, fields=["*"])
    described = om.patch_description(entity=GlossaryTerm, source=read, description="curated", force=True)
    listed = sorted(t.fullyQualifiedName.root for t in om.list_all_entities(entity=GlossaryTerm, params={"glossary": "sdk_glossary"}))
    om.delete(entity=Glossary, entity_id=created.id, recursive=True, hard_delete=True)
    return {
        "fqn": fqn,
        "read": dump(read),
        "related": [r.fullyQualifiedName for r in (read.relatedTerms.root if read.relatedTerms else [])],
        "listed": listed,
        "description": described.description.root if described and described.description else None,
        "gone": om.get_by_name(entity=Glossary, fqn="sdk_glossary") is None,
    }


def main() -> None:
    host_port, token = sys.argv[1:3]
    conn = OpenMetadataConnection(hostPort=host_port, authProvider=AuthProvider.openmetadata, securityConfig=OpenMetadataJWTClientConfig(jwtToken=token))
    om = OpenMetadata(conn)
    seen = {name: family(om, *spec) for name, spec in FAMILIES.items()}
    seen["glossary"] = glossary(om)
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
