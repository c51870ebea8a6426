"""Issue 15: every asset family beyond databases driven through the official clients
(openmetadata-ingestion 1.6.13.2 and 2.0.7.0, e2e/om_sdk_families.py): create, read (parsed by
the client's models), list, patch description and tags, versions, a pipeline run and delete, for
each family; glossaries with terms (hierarchy, related terms)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import OmClient
from test_ingestion import ENV, admin_token, ingestion_bot

SCRIPT = Path(__file__).resolve().parent / "om_sdk_families.py"


@pytest.mark.parametrize("client", ["om_client", "om2_client"])
def test_the_sdk_drives_every_family(start_ferrometa, client: str, request, tmp_path: Path):
    om_client: OmClient = request.getfixturevalue(client)
    server = start_ferrometa(ENV | {"FERROMETA_OM_VERSION": om_client.server_version})
    _, bot = ingestion_bot(server, admin_token(server))
    run = om_client.python(SCRIPT, f"{server.base}/api", bot, cwd=tmp_path)
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-6000:]}"
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert sorted(seen) == ["chart", "container", "dashboard", "glossary", "mlmodel", "pipeline", "searchIndex", "topic"]
    terms = seen.pop("glossary")
    assert terms["fqn"] == "sdk_glossary.Revenue.Net", terms
    assert terms["related"] == (["sdk_glossary.Revenue"] if client == "om_client" else []), terms
    assert terms["listed"] == ["sdk_glossary.Revenue", "sdk_glossary.Revenue.Net"] and terms["description"] == "curated" and terms["gone"], terms
    for name, f in seen.items():
        assert f["read"] is not None and f["by_id"] is not None, (name, f)
        assert f["read"]["id"] == f["by_id"]["id"], name
        assert f["listed"] == [f["fqn"]], (name, f["listed"])
        assert f["description"] == "curated", (name, f)
        assert f["tags"] == ["Tier.Tier1"], (name, f)
        assert f["versions"] == 3, (name, f)
        assert f["gone"], name
        assert f["run"] == ("Successful" if name == "pipeline" else None), (name, f["run"])
