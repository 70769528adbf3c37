"""The catalogue's tables (SQLAlchemy Core). Migrations in ``migrations/versions`` create and change them."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text

#: Marker row that says "this database is an ionscope catalogue".
APPLICATION = "ionscope-catalog"
#: Alembic revision this version of ionscope writes; newer ones are refused.
HEAD = "0001"
KNOWN_REVISIONS = ("0001",)

metadata = MetaData()

meta = Table("ionscope_meta", metadata,
             Column("key", String(64), primary_key=True),
             Column("value", Text, nullable=False))

results = Table("results", metadata,
                Column("id", Integer, primary_key=True, autoincrement=True),
                Column("dedup_key", String(64), nullable=False, unique=True),
                Column("kind", String(128), nullable=False, index=True),
                Column("created", String(40), nullable=True, index=True),
                Column("added", String(40), nullable=False),
                Column("tier", String(16), nullable=False, index=True),
                Column("material", Text, nullable=True),
                Column("sample", Text, nullable=True),
                Column("inputs", Text, nullable=False),
                Column("parameters", Text, nullable=False),
                Column("ionscope_version", String(64), nullable=False),
                Column("batch", String(36), nullable=False, index=True),
                Column("document", Text, nullable=False))

values = Table("result_values", metadata,
               Column("result_id", Integer, ForeignKey("results.id", ondelete="CASCADE"), nullable=False,
                      index=True),
               Column("path", Text, nullable=False),
               Column("leaf", String(128), nullable=False),
               Column("value", Float, nullable=False),
               Column("uncertainty", Float, nullable=True),
               Column("unit", String(64), nullable=False),
               Column("si_value", Float, nullable=True),
               Column("si_unit", String(64), nullable=True),
               Index("ix_values_leaf_si", "leaf", "si_value"))
