"""Renamed or grouped keyword arguments: the old names keep working for a while, with a ``DeprecationWarning``.

>>> @renamed_parameters(normalise="normalisation")
... def f(x, *, normalisation="none"):
...     return normalisation
>>> import warnings
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")
...     f(1, normalise="total")
'total'
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Mapping
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def renamed_parameters(**renames: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: accept each old keyword ``old=`` as the new one (``renames`` maps old → new).

    A call with an old name warns (``DeprecationWarning``, pointing at the caller) and passes the value
    on under the new name; giving both names is a ``TypeError``. The signature shown by ``help`` and
    :func:`inspect.signature` is the new one.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        params = inspect.signature(func).parameters
        for old, new in renames.items():
            if new not in params:
                raise TypeError(f"{func.__qualname__} has no parameter {new!r} to rename {old!r} to")
            if old in params:
                raise TypeError(f"{func.__qualname__} still has the old parameter {old!r}")

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{func.__qualname__}() got both {old!r} and its new name {new!r}")
                    warnings.warn(f"{func.__qualname__}(): the parameter {old!r} is now called {new!r}; "
                                  f"the old name will be removed", DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        # a marker for introspection; typeshed's functools._Wrapped declares no attributes beyond the wrapped ones
        wrapper.__renamed_parameters__ = dict(renames)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def grouped_parameters(**groups: Mapping[str, str]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: accept separate old keywords as entries of one new mapping parameter.

    ``groups`` maps each new parameter to ``{old keyword: key in the mapping}``: with
    ``@grouped_parameters(bounds={"D_bounds": "D", "k_bounds": "k"})`` a call with ``D_bounds=(a, b)``
    warns (``DeprecationWarning``, pointing at the caller) and passes ``bounds={"D": (a, b)}`` merged
    with any ``bounds`` given; giving a key both ways is a ``TypeError``.

    >>> @grouped_parameters(bounds={"D_bounds": "D"})
    ... def f(*, bounds=None):
    ...     return bounds
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     f(D_bounds=(1, 2))
    {'D': (1, 2)}
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        params = inspect.signature(func).parameters
        for new, olds in groups.items():
            if new not in params:
                raise TypeError(f"{func.__qualname__} has no parameter {new!r} to group {', '.join(olds)} into")
            if any(old in params for old in olds):
                raise TypeError(f"{func.__qualname__} still has one of the old parameters {', '.join(olds)}")

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for new, olds in groups.items():
                given = {old: kwargs.pop(old) for old in olds if old in kwargs}
                if not given:
                    continue
                current = kwargs.get(new)
                if current is not None and not isinstance(current, Mapping):
                    raise TypeError(f"{func.__qualname__}(): {new} must be a mapping, got {type(current).__name__}")
                merged = dict(current or {})
                for old, value in given.items():
                    if olds[old] in merged:
                        raise TypeError(f"{func.__qualname__}() got {old!r} and {new}[{olds[old]!r}]")
                    warnings.warn(f"{func.__qualname__}(): the parameter {old!r} is now {new}[{olds[old]!r}]; "
                                  f"the old name will be removed", DeprecationWarning, stacklevel=2)
                    merged[olds[old]] = value
                kwargs[new] = merged
            return func(*args, **kwargs)

        return wrapper

    return decorate
