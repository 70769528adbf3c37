"""The catalogue on a real PostgreSQL server, started here when the binaries are on PATH (else skipped)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from ionscope.catalog import Filters, open_catalog
from ionscope.catalog.store import parse_range

from .conftest import make_doc


def _as_postgres_user(cmd: list[str]) -> list[str]:
    """postgres refuses to run as root: run it as the ``postgres`` account then."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser") is None:
        pytest.skip("running as root and no runuser to start PostgreSQL as another user")
    return ["runuser", "-u", "postgres", "--", *cmd]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg_url():
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on PATH")
    pytest.importorskip("psycopg", reason="the PostgreSQL driver is the 'postgresql' extra (psycopg)")
    folder = Path(tempfile.mkdtemp(prefix="ionscope-pg-"))
    os.chmod(folder, 0o777)
    data, sock = folder / "data", folder / "sock"
    sock.mkdir()
    os.chmod(sock, 0o777)
    if os.geteuid() == 0:
        import pwd

        pw = pwd.getpwnam("postgres") if "postgres" in {p.pw_name for p in pwd.getpwall()} else None
        if pw is None:
            shutil.rmtree(folder)
            pytest.skip("running as root without a postgres account")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
        os.chown(sock, pw.pw_uid, pw.pw_gid)
    port = _free_port()
    init = subprocess.run(_as_postgres_user([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
                          capture_output=True, text=True)
    if init.returncode:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.strip()[-300:]}")
    start = subprocess.run(_as_postgres_user([pg_ctl, "-D", str(data), "-w", "-t", "60", "-l", str(folder / "log"),
                                              "-o", f"-p {port} -k {sock} -c listen_addresses=''", "start"]),
                           capture_output=True, text=True)
    if start.returncode:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {start.stderr.strip()[-300:]}")
    try:
        yield f"postgresql://postgres@/postgres?host={sock}&port={port}"
    finally:
        subprocess.run(_as_postgres_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_postgres_catalogue_add_dedup_query(pg_url, cli):
    with open_catalog(pg_url, create=True) as cat:
        rep = cat.add([(str(i), make_doc(i)) for i in range(20)])
        assert rep.added == list(range(1, 21))
        rep = cat.add([("again", make_doc(3, hours=86400, unit="s"))])
        assert rep.added == [] and rep.duplicates == [("again", 4)]
        found = cat.query(Filters(values=[parse_range("D=3e-13..5e-13 cm^2/s")], tier=["B"]))
        assert [e["id"] for e in found] == [3, 4, 5]
        assert cat.remove([1]) == [1] and cat.count() == 19
    code, out, err = cli("catalog", "list", "--db", pg_url, "--limit", "5")
    assert code == 0, err
    assert "5 of 19 entries" in out


def test_unreachable_server_is_a_clear_error_without_the_password():
    pytest.importorskip("psycopg", reason="the PostgreSQL driver is the 'postgresql' extra (psycopg)")
    from ionscope.catalog import CatalogError

    with pytest.raises(CatalogError, match="database error") as exc:
        open_catalog("postgresql://user:secret@127.0.0.1:1/db")
    assert "secret" not in str(exc.value) and "***" in str(exc.value)
