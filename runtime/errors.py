"""Exceptions of the runtime: every one is a ValueError/ImportError subclass callers already catch."""

from __future__ import annotations


class ModelFileError(ValueError):
    """A model file that is missing an interpreter-readable structure or does not fit the runtime.

    Raised for corrupt files, foreign models (wrong input/output count, shape or dtype) and
    unsupported file extensions. ``FileNotFoundError`` is raised instead when the path does not exist.
    """


class BackendMissingError(ImportError):
    """The interpreter package for this model format is not installed; the message says what to install."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name if it has none), for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
