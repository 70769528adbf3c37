"""Opening a catalogue (SQLite file or PostgreSQL URL), migrations, safe concurrent writes, queries.

SQLite runs in WAL mode (readers never block the writer) with a 30 s busy timeout; every write is one
``BEGIN IMMEDIATE`` transaction, retried with exponential back-off if the database is still locked, so
two processes adding at the same moment lose nothing. A file that is not an SQLite database, a database
that is not an ionscope catalogue, or one written by a newer schema is refused before anything is written.
Besides the file itself SQLite writes only its ``-wal`` and ``-shm`` companions beside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ionscope.catalog import schema as S
from ionscope.catalog.store import AddReport, Filters, entry_row, value_rows
from ionscope.model.errors import IonscopeError

#: Environment variable naming the default catalogue (path or URL); else the user data directory.
ENV_DB = "IONSCOPE_CATALOG_DB"
SQLITE_MAGIC = b"SQLite format 3\x00"
RETRIES = 8


#: How long opening a catalogue waits for another process that holds the lock while it switches the file to
#: write-ahead logging (s).
WAL_WAIT_S = 30.0


def _write_ahead_log(connection) -> None:
    """Put an SQLite catalogue in write-ahead-log mode (concurrent readers and one writer), once per file: the
    mode is stored in the file, so a file already in it is left alone. Switching needs the file to itself; two
    processes opening a new catalogue at the same moment find it locked, and the second one waits (up to
    :data:`WAL_WAIT_S`) instead of failing with "database is locked"."""
    import sqlite3

    deadline = time.monotonic() + WAL_WAIT_S
    while True:
        try:
            if str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class CatalogError(IonscopeError):
    """A catalogue that cannot be used: missing, corrupt, not an ionscope catalogue, newer schema, bad id."""


def default_location() -> str:
    """``$IONSCOPE_CATALOG_DB``, else ``catalog.sqlite`` in the user's data directory (platformdirs)."""
    env = os.environ.get(ENV_DB)
    if env:
        return env
    import platformdirs

    return str(platformdirs.user_data_path("ionscope", appauthor=False) / "catalog.sqlite")


def _is_url(target: str) -> bool:
    return "://" in target


def _engine_url(target: str) -> str:
    if target.startswith("postgresql://") or target.startswith("postgres://"):
        return "postgresql+psycopg://" + target.split("://", 1)[1]
    return target


def open_catalog(target: str | Path | None = None, *, create: bool = False) -> Catalog:
    """Open the catalogue at ``target`` (path or URL; default :func:`default_location`).

    Parameters
    ----------
    target
        SQLite file path, ``sqlite:///…`` or ``postgresql://user@host/db`` URL.
    create
        Create (and migrate) the catalogue if needed; otherwise a missing catalogue is an error.
    """
    return Catalog(str(target) if target is not None else default_location(), create=create)


class Catalog:
    """One opened catalogue. Use as a context manager or call :meth:`close`."""

    def __init__(self, target: str, *, create: bool = False) -> None:
        self.target = target
        self.path: Path | None = None
        if not _is_url(target) or target.startswith("sqlite:///"):
            self.path = Path(target[len("sqlite:///"):] if target.startswith("sqlite:///") else target)
            self._check_sqlite_file(create)
            url = f"sqlite:///{self.path}"
        else:
            url = _engine_url(target)
        self.engine = self._make_engine(url)
        try:
            self._check_schema(create)
            if self.engine.dialect.name == "sqlite":
                raw = self.engine.raw_connection()  # persistent; set only on a checked ionscope catalogue
                try:
                    _write_ahead_log(raw.driver_connection)
                finally:
                    raw.close()
        except BaseException:
            self.engine.dispose()
            raise

    # -- opening -----------------------------------------------------------------------------------
    def _check_sqlite_file(self, create: bool) -> None:
        p = self.path
        assert p is not None
        if p.is_dir():
            raise CatalogError("is a folder, not a catalogue file", path=str(p))
        if not p.exists():
            if not create:
                raise CatalogError("no catalogue here yet (add results with `ionscope catalog add`)", path=str(p))
            if not p.parent.is_dir():
                if os.environ.get(ENV_DB) is None and str(p) == default_location():
                    p.parent.mkdir(parents=True, exist_ok=True)
                else:
                    raise CatalogError(f"folder {p.parent} does not exist", path=str(p))
            return
        with p.open("rb") as fh:
            head = fh.read(16)
        if head and head != SQLITE_MAGIC:
            raise CatalogError("is not an ionscope catalogue: not an SQLite database (corrupt, or another file)",
                               path=str(p))

    def _make_engine(self, url: str) -> Any:
        from sqlalchemy import create_engine, event
        from sqlalchemy.pool import NullPool

        if url.startswith("sqlite"):
            engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = None  # transactions are begun below, not by the driver
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA busy_timeout=30000")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

            @event.listens_for(engine, "begin")
            def _on_begin(conn: Any) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")
            return engine
        try:
            return create_engine(url, pool_pre_ping=True)
        except Exception as exc:
            raise CatalogError(f"cannot open catalogue URL: {exc}", path=self._shown()) from None

    def _shown(self) -> str:
        if self.path is not None:
            return str(self.path)
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.target).render_as_string(hide_password=True)
        except Exception:
            return "catalogue URL"

    @contextlib.contextmanager
    def _connect(self, write: bool = False) -> Iterator[Any]:
        """A connection in one transaction; taking the (write) lock is retried with back-off."""
        from sqlalchemy.exc import DatabaseError, OperationalError

        delay = 0.05
        for attempt in range(RETRIES):
            conn = None
            try:
                conn = self.engine.connect().execution_options(write=write)
                trans = conn.begin()
                break
            except OperationalError as exc:
                if conn is not None:
                    conn.close()
                locked = "locked" in str(exc) or "busy" in str(exc)
                if not locked or attempt == RETRIES - 1:
                    raise self._database_error(exc) from None
                time.sleep(delay)
                delay *= 2
            except DatabaseError as exc:
                if conn is not None:
                    conn.close()
                raise self._database_error(exc) from None
        if conn is None:  # RETRIES ≥ 1: the loop either connected or raised
            raise CatalogError("could not connect to the catalogue", path=self._shown())
        try:
            yield conn
            trans.commit()
        except DatabaseError as exc:
            trans.rollback()
            raise self._database_error(exc) from None
        except BaseException:
            trans.rollback()
            raise
        finally:
            conn.close()

    def _database_error(self, exc: Exception) -> CatalogError:
        text = str(getattr(exc, "orig", exc)).splitlines()[0]
        if "not a database" in text or "malformed" in text:
            return CatalogError(f"catalogue file is corrupt ({text}); nothing was changed", path=self._shown())
        return CatalogError(f"database error: {text}", path=self._shown())

    def _tables(self, conn: Any) -> set[str]:
        from sqlalchemy import inspect

        return set(inspect(conn).get_table_names())

    def _check_schema(self, create: bool) -> None:
        from sqlalchemy import select, text

        with self._connect(write=create) as conn:
            tables = self._tables(conn)
            if not tables:
                if not create:
                    raise CatalogError("empty database, not yet a catalogue (add results first)", path=self._shown())
                self._migrate(conn)
                conn.execute(S.meta.insert(), [{"key": "application", "value": S.APPLICATION}])
                return
            marker = None
            if "ionscope_meta" in tables:
                marker = conn.execute(select(S.meta.c.value).where(S.meta.c.key == "application")).scalar()
            if marker != S.APPLICATION:
                raise CatalogError(f"is not an ionscope catalogue (tables: {', '.join(sorted(tables)[:8])}); "
                                   "nothing was changed", path=self._shown())
            revision = None
            if "alembic_version" in tables:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if revision not in S.KNOWN_REVISIONS:
                raise CatalogError(f"catalogue schema revision {revision!r} is newer than this ionscope knows "
                                   f"({S.HEAD}): upgrade ionscope; nothing was changed", path=self._shown())
            if revision != S.HEAD and create:
                self._migrate(conn)

    def _migrate(self, conn: Any) -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, S.HEAD)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------------
    def add(self, documents: Iterable[tuple[str, Mapping[str, Any]]]) -> AddReport:
        """Add checked result documents ``(source, document)`` in one transaction; duplicates are skipped.

        Duplicates (same :func:`~ionscope.catalog.canonical.dedup_key`) of an entry already stored, or
        repeated within ``documents``, are reported with the id of the stored entry.
        """
        from sqlalchemy import select

        batch = str(uuid.uuid4())
        added = datetime.now(UTC).isoformat(timespec="seconds")
        rows, sources, docs = [], [], []
        seen: dict[str, str] = {}
        report = AddReport()
        pending_dups: list[tuple[str, str]] = []
        for source, doc in documents:
            row = entry_row(doc, added, batch)
            if row["dedup_key"] in seen:
                pending_dups.append((source, row["dedup_key"]))
                continue
            seen[row["dedup_key"]] = source
            rows.append(row)
            sources.append(source)
            docs.append(doc)
        with self._connect(write=True) as conn:
            keys = list(seen)
            existing: dict[str, int] = {}
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                existing.update(conn.execute(select(S.results.c.dedup_key, S.results.c.id)
                                             .where(S.results.c.dedup_key.in_(chunk))).all())
            new = [(r, s, d) for r, s, d in zip(rows, sources, docs, strict=True) if r["dedup_key"] not in existing]
            if new:
                self._bulk_insert(conn, S.results, [r for r, _, _ in new], ignore_conflicts=True)
                ids = dict(conn.execute(select(S.results.c.dedup_key, S.results.c.id)
                                        .where(S.results.c.batch == batch)).all())
                vals = [v for r, _, d in new if r["dedup_key"] in ids for v in value_rows(d, ids[r["dedup_key"]])]
                if vals:
                    self._bulk_insert(conn, S.values, vals)
                report.added = [ids[r["dedup_key"]] for r, _, _ in new if r["dedup_key"] in ids]
                for r, _, _ in new:
                    if r["dedup_key"] not in ids:  # stored by another process since we looked
                        existing[r["dedup_key"]] = conn.execute(select(S.results.c.id).where(
                            S.results.c.dedup_key == r["dedup_key"])).scalar_one()
            for r, s, _ in zip(rows, sources, docs, strict=True):
                if r["dedup_key"] in existing:
                    report.duplicates.append((s, existing[r["dedup_key"]]))
            for s, key in pending_dups:
                stored = existing.get(key) or conn.execute(select(S.results.c.id).where(
                    S.results.c.dedup_key == key)).scalar_one()
                report.duplicates.append((s, stored))
        return report

    def _bulk_insert(self, conn: Any, table: Any, rows: list[dict[str, Any]], *,
                     ignore_conflicts: bool = False) -> None:
        """Insert many rows; on SQLite straight through the driver's ``executemany`` (a third of the time of
        SQLAlchemy's per-row parameter processing), elsewhere through SQLAlchemy."""
        if self.engine.dialect.name == "sqlite":
            cols = [c.name for c in table.columns if c.name in rows[0]]
            sql = (f"INSERT {'OR IGNORE ' if ignore_conflicts else ''}INTO {table.name} ({', '.join(cols)}) "
                   f"VALUES ({', '.join('?' for _ in cols)})")
            conn.exec_driver_sql(sql, [tuple(r[c] for c in cols) for r in rows])
            return
        if ignore_conflicts:
            from sqlalchemy.dialects.postgresql import insert

            conn.execute(insert(table).on_conflict_do_nothing(index_elements=["dedup_key"]), rows)
        else:
            conn.execute(table.insert(), rows)

    def remove(self, ids: Iterable[int]) -> list[int]:
        """Remove entries by id; an unknown id is an error and nothing is removed."""
        from sqlalchemy import delete, select

        wanted = sorted(set(int(i) for i in ids))
        with self._connect(write=True) as conn:
            found = set(conn.execute(select(S.results.c.id).where(S.results.c.id.in_(wanted))).scalars())
            missing = [i for i in wanted if i not in found]
            if missing:
                raise CatalogError(f"no entry with id {', '.join(map(str, missing))}; nothing was removed",
                                   path=self._shown())
            conn.execute(delete(S.values).where(S.values.c.result_id.in_(wanted)))
            conn.execute(delete(S.results).where(S.results.c.id.in_(wanted)))
        return wanted

    # -- reading -----------------------------------------------------------------------------------
    _SUMMARY = ("id", "kind", "tier", "material", "sample", "created", "added", "inputs", "dedup_key")

    def _summary(self, row: Any) -> dict[str, Any]:
        out = {k: getattr(row, k) for k in self._SUMMARY}
        out["inputs"] = [i.get("path") for i in json.loads(out["inputs"])]
        return out

    def query(self, filters: Filters | None = None, *, limit: int | None = None,
              offset: int = 0) -> list[dict[str, Any]]:
        """Summaries (id, kind, tier, material, sample, created, added, inputs, dedup_key) matching ``filters``."""
        from sqlalchemy import and_, func, or_, select

        f = filters or Filters()
        cols = [getattr(S.results.c, k) for k in self._SUMMARY]
        stmt = select(*cols)
        if f.kind:
            stmt = stmt.where(or_(*[S.results.c.kind.like(k.replace("*", "%")) for k in f.kind]))
        if f.tier:
            stmt = stmt.where(S.results.c.tier.in_(f.tier))
        if f.material:
            stmt = stmt.where(func.lower(S.results.c.material).contains(f.material.lower()))
        if f.sample:
            stmt = stmt.where(func.lower(S.results.c.sample).contains(f.sample.lower()))
        if f.since:
            stmt = stmt.where(S.results.c.created >= f.since)
        if f.until:
            stmt = stmt.where(func.substr(S.results.c.created, 1, len(f.until)) <= f.until)
        for r in f.values:
            cond = [or_(S.values.c.leaf == r.name, S.values.c.path == r.name)]
            if r.si_unit is not None:
                cond.append(S.values.c.si_unit == r.si_unit)
            if r.lo is not None:
                cond.append(S.values.c.si_value >= r.lo)
            if r.hi is not None:
                cond.append(S.values.c.si_value <= r.hi)
            stmt = stmt.where(S.results.c.id.in_(select(S.values.c.result_id).where(and_(*cond))))
        stmt = stmt.order_by(S.results.c.id).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._connect() as conn:
            return [self._summary(row) for row in conn.execute(stmt)]

    def get(self, entry_id: int) -> dict[str, Any]:
        """One entry: its summary and the full stored document (``document``)."""
        from sqlalchemy import select

        with self._connect() as conn:
            row = conn.execute(select(S.results).where(S.results.c.id == int(entry_id))).first()
        if row is None:
            raise CatalogError(f"no entry with id {entry_id}", path=self._shown())
        out = self._summary(row)
        out["document"] = json.loads(row.document)
        return out

    def documents(self, ids: Iterable[int] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(id, document)`` of every entry (or of ``ids``), in id order."""
        from sqlalchemy import select

        stmt = select(S.results.c.id, S.results.c.document).order_by(S.results.c.id)
        if ids is not None:
            stmt = stmt.where(S.results.c.id.in_(list(ids)))
        with self._connect() as conn:
            rows = conn.execute(stmt).all()
        for rid, text in rows:
            yield rid, json.loads(text)

    def count(self) -> int:
        from sqlalchemy import func, select

        with self._connect() as conn:
            return int(conn.execute(select(func.count()).select_from(S.results)).scalar_one())
