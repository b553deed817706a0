"""Alembic environment: runs migrations on the connection or URL handed over by collector.store."""

from __future__ import annotations

from alembic import context

import alerts.schema  # noqa: F401 - registers the alerting tables on the metadata
import inventory.schema  # noqa: F401 - registers the register's tables on the metadata
import web.schema  # noqa: F401 - registers the console's accounts, sessions and audit log
from collector.schema import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    from sqlalchemy import create_engine

    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
