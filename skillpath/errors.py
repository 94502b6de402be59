"""The one error hierarchy: every error the engine raises on purpose is a :class:`SkillpathError`.

Callers (the CLI, the API, the evaluation) catch :class:`SkillpathError` and branch on its
subclass; the API maps each subclass to one HTTP status in one place (``api/errors.py``).

Each class also derives from the builtin it replaced (``KeyError``, ``ValueError``,
``RuntimeError``), so code written against the old exceptions keeps working. This module sits
at the package root and imports nothing, so every layer, the lowest (``esco/``, ``models/``)
included, raises these; ``skillpath.engine.errors`` is the same classes under the engine's
name. The import contract lists it below everything.
"""

from __future__ import annotations


class SkillpathError(Exception):
    """Base of every error the engine raises on purpose; the message says what and where."""


class NotFound(SkillpathError, KeyError):
    """A URI, label or id names nothing in the store (HTTP 404)."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else "not found"


class InvalidInput(SkillpathError, ValueError):
    """The caller's input cannot be used: wrong type, empty, out of range (HTTP 422)."""


class ImportFormatError(InvalidInput):
    """A file to import (ESCO download, catalogue, mapping, benchmark) is malformed.

    The message names the file and, where known, the line, column or key.
    """


class IndexNotReady(SkillpathError, RuntimeError):
    """An index or the store is missing or was built from other data (HTTP 503)."""


__all__ = ["ImportFormatError", "IndexNotReady", "InvalidInput", "NotFound", "SkillpathError"]
