"""Alembic environment: runs on the connection passed in `config.attributes["connection"]`.

`fraud_core.store.db.upgrade` passes one (inside its lock); the `alembic` CLI, used to author
revisions, gets a connection to `FRAUD_DB_URL` instead.
"""

from alembic import context

from fraud_core.settings import get_settings
from fraud_core.store.db import include_name, make_engine
from fraud_core.store.models import Base


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    with make_engine(get_settings().db_url).begin() as conn:
        run(conn)
