"""Atomic outputs: write beside the target, then rename; never overwrite without ``force``."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from os import PathLike
from pathlib import Path

from ionscope.model.errors import OutputExistsError


def check_writable(path: str | PathLike[str], force: bool) -> Path:
    """Refuse an existing ``path`` unless ``force``; return it as a :class:`Path`."""
    p = Path(path)
    if p.exists() and not force:
        raise OutputExistsError("already exists; pass force=True (CLI: --force) to replace it", p)
    return p


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif p.exists() or p.is_symlink():
        p.unlink()


def _replace(tmp: Path, target: Path) -> None:
    """Move ``tmp`` onto ``target``; a replaced folder is moved aside first, then deleted."""
    if target.is_dir() and not target.is_symlink():
        aside = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, aside)
        os.replace(tmp, target)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(tmp, target)


@contextlib.contextmanager
def atomic_path(path: str | PathLike[str], *, force: bool = False, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    On an exception the temporary output is removed and ``path`` is left as it was.
    """
    target = check_writable(path, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.tmp-"
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent)) if directory else Path(
        tempfile.mkstemp(prefix=prefix, dir=target.parent)[1])
    if directory:
        tmp.rmdir()  # let the writer create it
    else:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield tmp
        _replace(tmp, target)
    except BaseException:
        _remove(tmp)
        raise


def write_text(path: str | PathLike[str], text: str, *, force: bool = False) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    with atomic_path(path, force=force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | PathLike[str], data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path, force=force) as tmp:
        tmp.write_bytes(data)
    return Path(path)
