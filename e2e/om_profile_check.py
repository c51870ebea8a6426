"""Profiles through the official OpenMetadata client (run with e2e/.venv-om's Python).

    om_profile_check.py <hostPort> <jwtToken> <table FQN> <column name>

Reads what ``metadata profile`` stored with the client's own calls — ``get_latest_table_profile``
and ``get_profile_data`` for the table's and one column's profiles — so its pydantic models parse
every answer. Prints one JSON object with what the client saw.
"""

import json
import sys
import time

from metadata.generated.schema.entity.data.table import ColumnProfile, TableProfile
from metadata.generated.schema.entity.services.connections.metadata.openMetadataConnection import (
    AuthProvider,
    OpenMetadataConnection,
)
from metadata.generated.schema.security.client.openMetadataJWTClientConfig import OpenMetadataJWTClientConfig
from metadata.ingestion.ometa.ometa_api import OpenMetadata


def main() -> None:
    host_port, token, table_fqn, column = sys.argv[1:5]
    om = OpenMetadata(OpenMetadataConnection(hostPort=host_port, authProvider=AuthProvider.openmetadata, securityConfig=OpenMetadataJWTClientConfig(jwtToken=token)))
    latest = om.get_latest_table_profile(table_fqn)
    now = int(time.time() * 1000)
    tables = om.get_profile_data(table_fqn, now - 86_400_000, now + 60_000, profile_type=TableProfile)
    columns = om.get_profile_data(f"{table_fqn}.{column}", now - 86_400_000, now + 60_000, profile_type=ColumnProfile)
    column_latest = next(c for c in latest.columns if c.name.root == column)
    print(json.dumps({
        "rowCount": latest.profile.rowCount,
        "columnCount": latest.profile.columnCount,
        "column": {"name": column, "nullCount": column_latest.profile.nullCount, "valuesCount": column_latest.profile.valuesCount},
        "table_series": tables.total,
        "column_series": columns.total,
    }))


if __name__ == "__main__":
    main()
