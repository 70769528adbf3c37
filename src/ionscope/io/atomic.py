"""Atomic outputs: write beside the target, then rename; never overwrite without ``force``.

Temporaries are named ``.<target>.tmp-<pid>-<random>`` and replaced outputs are moved aside as
``.<target>.old-<pid>`` before deletion, so a process killed mid-write leaves only hidden entries
that carry its process id. The next write to the same target removes those of dead processes (a
moved-aside output whose replacement never arrived is put back) and reports what it did with a
:class:`StaleTemporaryWarning`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from os import PathLike
from pathlib import Path

from ionscope.model.errors import OutputExistsError


def check_parent_writable(path: str | PathLike[str], subject: str | PathLike[str] | None = None) -> None:
    """Refuse an output below a file or in a read-only folder (the nearest existing ancestor of ``path``;
    missing folders between it and ``path`` are created when the output is written). The error names
    ``subject`` (default ``path``): the folder a command writes several files into."""
    from ionscope.model.errors import ValidationError
    from ionscope.model.stores import folder_writable

    out = Path(path)
    named = Path(subject) if subject is not None else out
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ValidationError(f"cannot write below {parent}: it is a file, not a folder", named)
    if not folder_writable(parent):
        raise ValidationError(f"cannot write in {parent}: the folder is read-only", named)


def check_writable(path: str | PathLike[str], force: bool) -> Path:
    """Refuse an existing ``path`` unless ``force``; return it as a :class:`Path`."""
    p = Path(path)
    if (p.exists() or p.is_symlink()) and not force:
        raise OutputExistsError("already exists; add --force to replace it (force=True in Python)", p,
                                python_only=" (force=True in Python)")
    return p


def check_replaceable(path: str | PathLike[str], force: bool, *, what: str,
                      directory: bool = False, ours: Callable[[Path], bool] | None = None) -> Path:
    """Refuse an output ``path`` that ``--force`` cannot or must not replace, then :func:`check_writable`.

    An existing folder is replaced only by a folder output (a store) and only when ``ours`` recognises
    it as one of that kind (a Zarr store…): any other folder (the user's data, a folder named like a
    store by hand) is never replaced, with or without ``force``, and the message does not suggest
    ``--force``. An existing file (or symlink, never followed) is replaced with ``force``, as usual.

    Parameters
    ----------
    path
        The output as given.
    force
        Whether replacing an existing output of ours was asked for.
    what
        The output's kind for messages, with its article, e.g. ``"a Zarr store"``, ``"the --table output"``.
    directory
        The output is a folder (a store).
    ours
        Test that an existing folder is an output of this kind; without it no existing folder is replaced.

    Returns
    -------
    Path
        ``path``.
    """
    p = Path(path)
    if p.is_dir() and not p.is_symlink():
        if not directory:
            raise OutputExistsError(f"is a folder: {what} is a file, and ionscope never replaces a folder by a "
                                    "file; give a file name", p)
        if ours is None or not ours(p):
            raise OutputExistsError(f"is a folder that is not {what}: ionscope replaces only its own outputs; "
                                    "give a new name", p)
    return check_writable(p, force)


class StaleTemporaryWarning(UserWarning):
    """Leftovers of an interrupted write were found beside an output (and cleaned up or reported)."""


_STALE = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)(?:-.*)?$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def clean_stale(path: str | PathLike[str]) -> list[str]:
    """Remove the temporaries that dead processes left beside ``path``; return what was done.

    A ``.old-`` entry (an output moved aside just before its replacement was renamed in) is put back
    when ``path`` itself is missing, else deleted. Entries of live processes are left alone; entries
    whose owner cannot be told are reported, not deleted.
    """
    target = Path(path)
    done: list[str] = []
    try:
        entries = list(target.parent.iterdir()) if target.parent.is_dir() else []
    except OSError:
        return done
    for entry in entries:
        m = _STALE.match(entry.name)
        if m is None or m.group("name") != target.name or _alive(int(m.group("pid"))):
            continue
        try:
            if m.group("kind") == "old" and not (target.exists() or target.is_symlink()):
                os.replace(entry, target)
                done.append(f"restored {target.name} from {entry.name} (a replacement was interrupted)")
            else:
                _remove(entry)
                done.append(f"removed {entry.name} left by interrupted process {m.group('pid')}")
        except OSError as exc:
            done.append(f"could not remove {entry.name}: {exc}")
    if done:
        warnings.warn(f"{target}: " + "; ".join(done), StaleTemporaryWarning, stacklevel=3)
    return done


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    elif p.exists() or p.is_symlink():
        p.unlink()


def _replace(tmp: Path, target: Path) -> None:
    """Move ``tmp`` onto ``target``.

    A file replaces a file in one rename. Anything else (a folder, a symlink, a file where a folder
    goes or the reverse) is moved aside first, then deleted; a symlink is replaced, never followed.
    """
    exists = target.exists() or target.is_symlink()
    if exists and (target.is_symlink() or target.is_dir() or tmp.is_dir()):
        aside = target.with_name(f".{target.name}.old-{os.getpid()}")
        _remove(aside)
        os.replace(target, aside)
        os.replace(tmp, target)
        _remove(aside)
    else:
        os.replace(tmp, target)


@contextlib.contextmanager
def atomic_path(path: str | PathLike[str], *, force: bool = False, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    On an exception the temporary output is removed and ``path`` is left as it was.
    """
    target = check_writable(path, force) if directory else check_replaceable(path, force, what="the output")
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    prefix = f".{target.name}.tmp-{os.getpid()}-"
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
