"""Which modules of the core run compiled, and whether a compiled one is older than its source.

`setup.py` compiles the ingest hot path with mypyc where a C compiler is available; the same `.py` source runs
interpreted otherwise. A compiled module sits beside its source as an extension file and wins the import, so a
source edited after the build (a checkout, a local change) would silently not run: `stale_modules` names them,
`otel-errors serve` warns and the test suite refuses to start (`make install` rebuilds them).
"""

from __future__ import annotations

import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

__all__ = ["compiled_modules", "stale_modules"]

# A source written within this many seconds after its extension is taken as installed with it (a wheel writes
# both in one go, in any order), not as edited later.
_SAME_INSTALL_SECONDS = 2.0


def compiled_modules() -> list[str]:
    """Imported `otel_errors` modules that were loaded from an extension file, sorted."""
    return sorted(name for name, path in _imported() if path.name.endswith(tuple(EXTENSION_SUFFIXES)))


def stale_modules() -> list[str]:
    """Compiled modules whose `.py` source is newer than their extension file."""
    stale = []
    for name, path in _imported():
        suffix = next((s for s in EXTENSION_SUFFIXES if path.name.endswith(s)), None)
        if suffix is None:
            continue
        source = path.with_name(path.name[: -len(suffix)] + ".py")
        try:
            if source.stat().st_mtime > path.stat().st_mtime + _SAME_INSTALL_SECONDS:
                stale.append(name)
        except OSError:  # no source beside it: nothing to be out of date with
            continue
    return sorted(stale)


def _imported() -> list[tuple[str, Path]]:
    found = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and (name == "otel_errors" or name.startswith("otel_errors.")):
            found.append((name, Path(path)))
    return found
