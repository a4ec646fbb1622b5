"""Exceptions of the runtime: every one is a ValueError/ImportError subclass callers already catch."""

from __future__ import annotations


class ModelFileError(ValueError):
    """A model file that is missing an interpreter-readable structure or does not fit the runtime.

    Raised for corrupt files, foreign models (wrong input/output count, shape or dtype) and
    unsupported file extensions. ``FileNotFoundError`` is raised instead when the path does not exist.
    """


class BackendMissingError(ImportError):
    """The interpreter package for this model format is not installed; the message says what to install."""
