"""The engine's name for the one error hierarchy, defined in :mod:`skillpath.errors` (the
package root, so ``esco/`` and ``models/`` below the engine can raise it too)."""

from skillpath.errors import (
    ImportFormatError,
    IndexNotReady,
    InvalidInput,
    NotFound,
    SkillpathError,
)

__all__ = ["ImportFormatError", "IndexNotReady", "InvalidInput", "NotFound", "SkillpathError"]
