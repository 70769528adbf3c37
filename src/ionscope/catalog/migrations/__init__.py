"""Alembic migrations of the results catalogue (run programmatically by :mod:`ionscope.catalog.db`)."""
