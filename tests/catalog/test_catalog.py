"""The results catalogue: add, dedup, query, remove, export; bad files and databases change nothing."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from ionscope.catalog import CatalogError, Filters, dedup_key, open_catalog
from ionscope.catalog.canonical import canonical_parameters
from ionscope.catalog.store import check_document, parse_range
from ionscope.model.errors import FormatError, UnsupportedError

from .conftest import make_doc


def _add(db, docs):
    with open_catalog(db, create=True) as cat:
        return cat.add([(f"doc{i}", d) for i, d in enumerate(docs)])


def test_canonical_parameters_are_unit_and_rounding_independent():
    a = canonical_parameters({"time": {"value": 24, "uncertainty": None, "unit": "h"}, "b": 0.1 + 0.2})
    b = canonical_parameters({"b": 0.3, "time": {"value": 86400.0, "uncertainty": None, "unit": "s"}})
    assert a == b and '"unit":"s"' in a
    assert dedup_key(make_doc(1, hours=24)) == dedup_key(make_doc(1, hours=86400, unit="s"))
    assert dedup_key(make_doc(1)) != dedup_key(make_doc(1, hours=25))
    assert dedup_key(make_doc(1)) != dedup_key(make_doc(2))


def test_add_dedup_show_remove(tmp_path):
    db = tmp_path / "c.sqlite"
    rep = _add(db, [make_doc(1), make_doc(2), make_doc(1, hours=86400, unit="s")])
    assert rep.added == [1, 2] and rep.duplicates == [("doc2", 1)]
    rep = _add(db, [make_doc(2), make_doc(3)])
    assert rep.added == [3] and rep.duplicates == [("doc0", 2)]
    with open_catalog(db) as cat:
        entry = cat.get(2)
        assert entry["document"]["results"]["D"]["unit"] == "cm^2/s" and entry["document"]["provenance"]
        assert cat.remove([1]) == [1] and cat.count() == 2
        with pytest.raises(CatalogError, match="no entry with id 99; nothing was removed"):
            cat.remove([2, 99])
        assert cat.count() == 2


def test_query_filters(tmp_path):
    db = tmp_path / "c.sqlite"
    docs = [make_doc(i, tier="A" if i % 2 else "C", material="LLTO" if i < 5 else "LPSCl") for i in range(10)]
    _add(db, docs)
    with open_catalog(db) as cat:
        assert len(cat.query(Filters(tier=["A"]))) == 5
        assert len(cat.query(Filters(material="lps"))) == 5
        assert len(cat.query(Filters(kind=["diffusion.*"]))) == 10
        assert len(cat.query(Filters(kind=["depth.layers"]))) == 0
        # D = 1e-13·(1+i): 3e-13..5e-13 cm²/s → i = 2, 3, 4; the same range in m²/s finds the same
        found = cat.query(Filters(values=[parse_range("D=3e-13..5e-13 cm^2/s")]))
        assert [e["id"] for e in found] == [3, 4, 5]
        assert found == cat.query(Filters(values=[parse_range("D=3e-17..5e-17 m^2/s")]))
        assert len(cat.query(Filters(values=[parse_range("D=3e-13..5e-13 nm")]))) == 0  # other dimension
        assert len(cat.query(Filters(since="2000-01-01", until="2999-12-31"))) == 10
        assert len(cat.query(Filters(until="2000-01-01"))) == 0


def test_not_an_ionscope_result_adds_nothing(tmp_path, cli):
    db = tmp_path / "c.sqlite"
    good = tmp_path / "good.json"
    good.write_text(json.dumps(make_doc(1)))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hello": 1}))
    code, _, err = cli("catalog", "add", good, bad, "--db", db)
    assert code == 2 and "bad.json: not an ionscope result: missing" in err
    assert not db.exists()
    bad.write_text(json.dumps({"error": {"type": "X", "message": "m", "path": None}}))
    with pytest.raises(FormatError, match="error document"):
        check_document(json.loads(bad.read_text()), str(bad))
    assert check_document({**make_doc(1), "schema_version": "1.0"})["schema_version"] == "1.0"  # still read
    newer = {**make_doc(1), "schema_version": "3.0"}
    with pytest.raises(UnsupportedError, match="newer"):
        check_document(newer)


def test_corrupt_foreign_and_newer_catalogues_are_refused_unchanged(tmp_path):
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"garbage, not a database" * 100)
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE t (x)")
    newer = tmp_path / "newer.sqlite"
    _add(newer, [make_doc(1)])
    with sqlite3.connect(newer) as con:
        con.execute("UPDATE alembic_version SET version_num = '0099'")
    for path, match in ((corrupt, "not an SQLite database"), (foreign, "not an ionscope catalogue"),
                        (newer, "newer than this ionscope")):
        before = path.read_bytes()
        with pytest.raises(CatalogError, match=match):
            _add(path, [make_doc(2)])
        assert path.read_bytes() == before
    truncated = tmp_path / "truncated.sqlite"
    _add(truncated, [make_doc(i) for i in range(200)])
    data = truncated.read_bytes()
    truncated.write_bytes(data[:100] + b"\0" * 4000 + data[4100:])
    with pytest.raises(CatalogError):
        with open_catalog(truncated) as cat:
            cat.query()


def test_reading_a_missing_catalogue_creates_nothing(tmp_path):
    with pytest.raises(CatalogError, match="no catalogue here yet"):
        open_catalog(tmp_path / "none.sqlite")
    with pytest.raises(CatalogError, match="does not exist"):
        open_catalog(tmp_path / "no" / "folder.sqlite", create=True)
    assert list(tmp_path.iterdir()) == []


_WRITER = """
import sys
sys.path.insert(0, {tests!r})
from catalog.conftest import make_doc
from ionscope.catalog import open_catalog
start, stop = int(sys.argv[1]), int(sys.argv[2])
for i in range(start, stop, 10):
    with open_catalog({db!r}, create=True) as cat:
        cat.add([(str(j), make_doc(j)) for j in range(i, min(i + 10, stop))])
"""


@pytest.mark.slow
def test_concurrent_writers_lose_nothing(tmp_path):
    """Two processes add overlapping batches at the same moment: every distinct result is stored once."""
    from pathlib import Path

    db = tmp_path / "c.sqlite"
    script = tmp_path / "writer.py"
    script.write_text(_WRITER.format(tests=str(Path(__file__).parents[1]), db=str(db)))
    procs = [subprocess.Popen([sys.executable, str(script), str(a), str(b)]) for a, b in ((0, 120), (60, 180))]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with open_catalog(db) as cat:
        assert cat.count() == 180
        assert len({e["dedup_key"] for e in cat.query()}) == 180
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("c.sqlite")) in (
        ["c.sqlite"], ["c.sqlite", "c.sqlite-shm", "c.sqlite-wal"])


def test_export_csv_jsonld_parquet(tmp_path, cli, monkeypatch):
    db = tmp_path / "c.sqlite"
    _add(db, [make_doc(i) for i in range(3)])
    code, out, _ = cli("catalog", "export", "--to", "csv", "--db", db)
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].startswith("id,kind,tier") and len(lines) == 4 and ",D," in lines[1]
    code, out, _ = cli("catalog", "export", "--to", "jsonld", "--db", db)
    doc = json.loads(out)
    assert doc["@context"][0] == "https://w3id.org/emmo/domain/battery/context" and len(doc["@graph"]) == 3
    prop = doc["@graph"][0]["hasProperty"][0]
    assert prop["@type"] == "ConventionalProperty" and prop["schema:unitText"] == "cm^2/s"
    pq = pytest.importorskip("pyarrow.parquet")
    assert cli("catalog", "export", "--to", "parquet", "--db", db, "--out", tmp_path / "x.parquet")[0] == 0
    assert pq.read_table(tmp_path / "x.parquet").num_rows == 3
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    code, _, err = cli("catalog", "export", "--to", "parquet", "--db", db, "--out", tmp_path / "y.parquet")
    assert code == 2 and "ionscope[parquet]" in err and not (tmp_path / "y.parquet").exists()


def test_cli_add_list_query_show_remove(tmp_path, cli):
    files = []
    for i in range(3):
        f = tmp_path / f"r{i}.json"
        f.write_text(json.dumps(make_doc(i)))
        files.append(f)
    code, out, _ = cli("catalog", "add", *files, "--json")  # default catalogue: $IONSCOPE_CATALOG_DB
    assert code == 0 and json.loads(out)["results"]["added"] == [1, 2, 3]
    code, out, _ = cli("catalog", "query", "--value", "D=2e-13..3e-13 cm^2/s", "--json")
    assert [e["id"] for e in json.loads(out)["results"]["entries"]] == [2, 3]
    code, out, _ = cli("catalog", "show", "2")
    assert code == 0 and "reliability: tier B" in out
    assert cli("catalog", "remove", "2")[0] == 0
    code, out, _ = cli("catalog", "list", "--json")
    assert json.loads(out)["results"]["count"] == 2
    assert cli("catalog", "query", "--tier", "E")[0] == 2


def test_analysis_commands_catalogue_their_result(tmp_path, cli):
    from ionscope.synth.depth import layered_stack

    from ..conftest import write_surfacelab_profile

    stack = write_surfacelab_profile(layered_stack(seed=5)[0], tmp_path / "stack.txt")
    db = tmp_path / "mine.sqlite"
    code, out, err = cli("depth", "layers", stack, "--json", "--catalog-db", db)
    assert code == 0 and "catalogued as entry 1" in err
    printed = json.loads(out)
    code, _, err = cli("depth", "layers", stack, "--catalog-db", db)  # text mode, same result: duplicate
    assert code == 0 and "already catalogued as entry 1" in err
    code, _, err = cli("depth", "layers", stack, "--catalog")
    assert code == 0 and "default.sqlite" in err
    with open_catalog(db) as cat:
        stored = cat.get(1)["document"]
    assert stored == printed


def test_catalog_commands_take_catalog_db_like_the_analysis_commands(tmp_path, cli):
    """``--catalog-db`` names the catalogue in every command (``catalog`` too); ``--db`` stays an alias."""
    f = tmp_path / "r.json"
    f.write_text(json.dumps(make_doc(1)))
    db = tmp_path / "one.sqlite"
    code, out, _ = cli("catalog", "add", f, "--catalog-db", db, "--json")
    assert code == 0 and json.loads(out)["results"]["added"] == [1] and db.exists()
    for option in ("--catalog-db", "--db"):
        code, out, _ = cli("catalog", "query", "--value", "D=1e-14..1 cm^2/s", option, db, "--json")
        assert code == 0 and [e["id"] for e in json.loads(out)["results"]["entries"]] == [1], option
