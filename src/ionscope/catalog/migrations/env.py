"""Alembic environment: runs on the connection :mod:`ionscope.catalog.db` passes in ``config.attributes``."""

from alembic import context

from ionscope.catalog.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
