"""The results catalogue: ionscope JSON results of many experiments in one queryable database.

Embedded SQLite by default (a file in the user's data directory, or any path), PostgreSQL through a
URL for a group server; SQLAlchemy 2 with Alembic migrations. Entries are deduplicated by input
SHA-256 + operation (the envelope's ``kind``) + canonical parameters (:mod:`.canonical`); each keeps
the full JSON document with its provenance and reliability tier.
"""

from ionscope.catalog.canonical import canonical_parameters, dedup_key, quantities
from ionscope.catalog.db import Catalog, CatalogError, default_location, open_catalog
from ionscope.catalog.store import AddReport, Filters

__all__ = ["AddReport", "Catalog", "CatalogError", "Filters", "canonical_parameters", "dedup_key",
           "default_location", "open_catalog", "quantities"]
