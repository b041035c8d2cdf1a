"""Alembic environment: runs on the connection newsmon hands over (see storage.migrations).

newsmon never runs Alembic with its own engine or an alembic.ini: ``storage.db.migrate`` opens the
connection, takes the migration lock and passes the connection in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context

from storage.db import metadata
from storage.migrations import include_name

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata(),
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
