"""Data quality through the official OpenMetadata client (run with the venv of the client).

    om_quality_check.py <hostPort> <jwtToken> <test case FQN>

Reads what ``metadata test`` stored with the client's own calls — ``get_by_name(TestCase, ...,
fields=["testCaseResult", "testSuite", "testDefinition"])`` and ``get_test_case_results`` — so
its pydantic models parse every answer. Prints one JSON object with what the client saw.
"""

import json
import sys
import time

from metadata.generated.schema.entity.services.connections.metadata.openMetadataConnection import (
    AuthProvider,
    OpenMetadataConnection,
)
from metadata.generated.schema.security.client.openMetadataJWTClientConfig import OpenMetadataJWTClientConfig
from metadata.generated.schema.tests.testCase import TestCase
from metadata.ingestion.ometa.ometa_api import OpenMetadata


def main() -> None:
    host_port, token, case_fqn = sys.argv[1:4]
    om = OpenMetadata(OpenMetadataConnection(hostPort=host_port, authProvider=AuthProvider.openmetadata, securityConfig=OpenMetadataJWTClientConfig(jwtToken=token)))
    case = om.get_by_name(TestCase, case_fqn, fields=["testCaseResult", "testSuite", "testDefinition"])
    now = int(time.time() * 1000)
    results = om.get_test_case_results(case_fqn, now - 86_400_000, now + 60_000)
    print(json.dumps({
        "definition": case.testDefinition.fullyQualifiedName,
        "suite": case.testSuite.fullyQualifiedName,
        "latest": case.testCaseResult.testCaseStatus.value,
        "runs": [r.testCaseStatus.value for r in results],
    }))


if __name__ == "__main__":
    main()
