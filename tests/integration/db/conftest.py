from tests.integration.db.servers import (  # noqa: F401 - fixtures
    postgres_server,
    sqlite_template,
    sqlite_workflow_db,
    workflow_db,
)
