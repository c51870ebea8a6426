#!/usr/bin/env python3
"""Writes crates/catalog/src/seed/connection_secrets.json: where the secrets of every
OpenMetadata service connection are, read from the official Python client's generated models.

Pinned to openmetadata-ingestion==1.6.13.2 (the client ferrometa is compatible with); the
script refuses another version, since the file must describe the schemas the clients send.

Run it from the repository root with the client installed, e.g.:

    python3 -m venv /tmp/venv-om
    /tmp/venv-om/bin/pip install -c e2e/om-constraints.txt openmetadata-ingestion==1.6.13.2
    /tmp/venv-om/bin/python scripts/gen_connection_secrets.py

How the file reads: per service family (database, dashboard, ...), per connection type (the
`connection.config.type` discriminator, e.g. `Trino`), the paths inside `connection.config` of
every field the schemas type as a secret (`CustomSecretStr`, JSON schema `"format": "password"`:
passwords, keys, tokens, JWTs, ...). A path goes through every alternative of a union (oneOf) at
once: `authType.jwt` is listed when any alternative of `authType` has a secret `jwt`, so a
value is secret at a path when it is in any alternative there. `[]` marks the items of an array
(`hosts[].password`). A path ending in `*` is a free-form map (`connectionArguments.*`,
Kafka's `consumerConfig.*`): the schemas cannot say which of its entries are secrets, yet
connectors take credentials there (`sasl.password`, an `Authorization` header), so ferrometa
judges its entries by name. A type without secrets is listed with no paths: it is known, and
none of its fields is secret.

A few fields hold credentials although the schemas type them as plain strings; they are listed
in UNMARKED_SECRETS below and treated as secrets too.
"""

import enum
import importlib
import json
import sys
import types
import typing
from importlib import metadata as dist_metadata
from pathlib import Path

from pydantic import BaseModel, RootModel, SecretStr

CLIENT = "openmetadata-ingestion"
VERSION = "1.6.13.2"
OUT = Path(__file__).resolve().parent.parent / "crates/catalog/src/seed/connection_secrets.json"

# Service family -> (module under metadata.generated.schema.entity.services, connection model).
FAMILIES = {
    "api": ("apiService", "ApiConnection"),
    "dashboard": ("dashboardService", "DashboardConnection"),
    "database": ("databaseService", "DatabaseConnection"),
    "messaging": ("messagingService", "MessagingConnection"),
    "metadata": ("metadataService", "MetadataConnection"),
    "mlmodel": ("mlmodelService", "MlModelConnection"),
    "pipeline": ("pipelineService", "PipelineConnection"),
    "search": ("searchService", "SearchConnection"),
    "storage": ("storageService", "StorageConnection"),
}

# (model, field) pairs the 1.6.13.2 schemas type as plain strings that hold credentials.
UNMARKED_SECRETS = {
    ("OpensearchConnection", "password"),
    ("OpensearchConnection", "truststorePassword"),
    ("SaslClientConfig", "saslPassword"),
    ("DomoDashboardConnection", "accessToken"),
    ("DomoDatabaseConnection", "accessToken"),
    ("DomoPipelineConnection", "accessToken"),
    # Temporary AWS credentials: with the key pair, a session token is as secret as the key.
    ("AWSCredentials", "awsSessionToken"),
}


def alternatives(annotation):
    """The types a (possibly Annotated, Optional or Union) annotation stands for."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return alternatives(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in alternatives(arg)]
    return [annotation]


def secret_paths(annotation, path, stack):
    """Every path (a list of segments) below `path` whose value is a secret."""
    found = []
    for t in alternatives(annotation):
        origin = typing.get_origin(t)
        if origin in (list, set, frozenset, tuple, typing.List, typing.Set):
            for item in typing.get_args(t):
                found += secret_paths(item, path[:-1] + [path[-1] + "[]"] if path else ["[]"], stack)
        elif origin in (dict, typing.Dict):
            found.append(path + ["*"])
        elif isinstance(t, type) and issubclass(t, SecretStr):
            found.append(path)
        elif isinstance(t, type) and issubclass(t, RootModel):
            found += secret_paths(t.model_fields["root"].annotation, path, stack)
        elif isinstance(t, type) and issubclass(t, BaseModel):
            if t in stack:
                sys.exit(f"{'.'.join(path)}: {t.__name__} contains itself; its paths cannot be listed")
            for name, field in t.model_fields.items():
                key = field.serialization_alias or field.alias or name
                if (t.__name__, key) in UNMARKED_SECRETS:
                    found.append(path + [key])
                found += secret_paths(field.annotation, path + [key], stack + [t])
    return found


def connection_type(model):
    """The `type` discriminator of a connection model (the default of its one-value enum)."""
    field = model.model_fields["type"]
    if isinstance(field.default, enum.Enum):
        return field.default.value
    # Custom connectors have no default: the type is required, the enum's only value.
    (only,) = [member.value for t in alternatives(field.annotation) if isinstance(t, type) and issubclass(t, enum.Enum) for member in t]
    return only


def family_secrets(module, model_name):
    services = importlib.import_module(f"metadata.generated.schema.entity.services.{module}")
    config = getattr(services, model_name).model_fields["config"].annotation
    listed = {}
    for model in alternatives(config):
        if model is type(None):
            continue
        name = connection_type(model)
        if name in listed:
            sys.exit(f"{module}: two connection models have the type {name}")
        listed[name] = sorted({".".join(p) for p in secret_paths(model, [], [])})
    return dict(sorted(listed.items()))


def main():
    installed = dist_metadata.version(CLIENT)
    if installed != VERSION:
        sys.exit(f"{CLIENT} {installed} is installed; this script reads {VERSION}")
    families = {family: family_secrets(*where) for family, where in FAMILIES.items()}
    document = {
        "source": f"{CLIENT}=={VERSION}, generated by scripts/gen_connection_secrets.py; do not edit",
        "client": VERSION,
        "families": families,
    }
    OUT.write_text(json.dumps(document, indent=1) + "\n")
    types_count = sum(len(f) for f in families.values())
    paths = sum(len(p) for f in families.values() for p in f.values())
    print(f"{OUT}: {types_count} connection types, {paths} secret paths")


if __name__ == "__main__":
    main()
