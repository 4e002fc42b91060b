"""Build step: compile the ingest hot path with mypyc when it can; otherwise install it as plain Python.

Everything else (metadata, packages, the folder-to-namespace mapping) is in pyproject.toml. The modules below are
ordinary, type-checked Python; mypyc turns each into a C extension that runs the same code without the
interpreter's per-operation overhead (bench/processor.py: process_traces ~22% less CPU). Without a C compiler,
or with OTEL_ERRORS_PURE_PYTHON=1, the build skips them and the same source runs interpreted.

A module belongs here only if it is safe to compile: its annotations hold at run time (mypyc checks them), nothing
replaces its functions or Final constants at run time (compiled callers bind them early), and it never compares
fixed-length tuples by identity (mypyc may rebuild them around the same items).
"""

from __future__ import annotations

import contextlib
import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

COMPILED = [
    "otel_errors/_bounds.py",
    "otel_errors/_identity.py",
    "otel_errors/_otlp.py",
    "otel_errors/_recovery.py",
    "otel_errors/_spans.py",
    "otel_errors/_tracestate.py",
    "otel_errors/_wire/__init__.py",
    "otel_errors/_wire/_format.py",
    "otel_errors/_wire/_read.py",
    "otel_errors/_wire/_scan.py",
    "otel_errors/batch.py",
    "otel_errors/chains.py",
    "otel_errors/classify.py",
    "otel_errors/grouping/_compute.py",
    "otel_errors/grouping/_message.py",
    "otel_errors/grouping/_stack.py",
    "otel_errors/processor.py",
    "otel_errors/stacktext.py",
    "otel_errors/scrub/_attributes.py",
    "otel_errors/scrub/_gates.py",
    "otel_errors/scrub/_scrubber.py",
]


class OptionalBuildExt(build_ext):
    """A failed compilation falls back to the pure-Python modules instead of failing the install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - no compiler, no Python headers: the .py files are installed either way
            # All or none: a module built without mypyc's shared library (or the reverse) would not import.
            for ext in self.extensions:
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(self.build_lib, self.get_ext_filename(ext.name)))
            print(f"otel-errors: compiling the hot path failed ({exc}); installing it as plain Python", file=sys.stderr)


def _extensions() -> list[Extension]:
    if os.environ.get("OTEL_ERRORS_PURE_PYTHON", "") not in ("", "0"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        return []
    # The build environment has none of the runtime dependencies: their types are Any to the compiler.
    return mypycify(["--ignore-missing-imports", *COMPILED], opt_level="3")


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
