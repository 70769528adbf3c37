"""The ionscope error hierarchy.

Every expected failure raises a subclass of :class:`IonscopeError` whose message names the file (when
there is one) and the problem in one sentence. The CLI prints that sentence and exits non-zero; it
never shows a traceback for these errors.
"""

from __future__ import annotations

from os import PathLike


class IonscopeError(Exception):
    """Base class of every error ionscope raises on purpose.

    Parameters
    ----------
    message
        What is wrong, as one sentence a user can act on.
    path
        The file or folder the problem is in, if any; it is put in front of the message.
    """

    exit_code = 2

    #: Part of :attr:`problem` that only applies to the Python API (e.g. ``" (force=True in Python)"``),
    #: left out on the command line (:meth:`for_cli`).
    python_only: str = ""

    def __init__(self, message: str, path: str | PathLike[str] | None = None, *, python_only: str = "") -> None:
        self.path = None if path is None else str(path)
        self.problem = message
        if python_only:
            self.python_only = python_only
        super().__init__(f"{self.path}: {message}" if self.path else message)

    @property
    def cli_problem(self) -> str:
        """:attr:`problem` as the command line shows it (without the Python-only part)."""
        return self.problem.replace(self.python_only, "") if self.python_only else self.problem

    def for_cli(self) -> str:
        """The message as the command line shows it: the file, then :attr:`cli_problem`."""
        text = str(self)
        return text.replace(self.python_only, "") if self.python_only else text


class InputNotFoundError(IonscopeError, FileNotFoundError):
    """The input path does not exist or is not the kind of path expected (file vs folder)."""


class FormatError(IonscopeError, ValueError):
    """A file is not in the format it claims, or is truncated or corrupt."""


class UnknownFormatError(FormatError):
    """No reader recognises the file (by extension or by content)."""


class AbsurdSizeError(FormatError):
    """A header declares a size that the file cannot hold or that no instrument produces."""


class ValidationError(IonscopeError, ValueError):
    """Data or parameters violate the data model or a physical constraint."""


class UnitError(ValidationError):
    """A unit is missing, unknown or not convertible to the one required."""


class UnsupportedError(IonscopeError, NotImplementedError):
    """The input is valid but uses a feature ionscope does not handle (yet)."""


class OutputExistsError(IonscopeError, FileExistsError):
    """An output already exists and ``force`` was not given."""
