"""The folder-to-namespace mapping (docs/architecture.md): editable and wheel installs import `otel_errors.receiver`,
every folder with an `__init__.py` is packaged, and the core imports none of the I/O layers (types: `make check`)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAPPING = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]


def _expected_packages() -> set[str]:
    expected = set()
    for namespace, folder in MAPPING.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            expected.add(".".join([namespace, *relative.parts]))
    # A nested mapping (otel_errors.receiver inside otel_errors) is listed under its own folder, not twice.
    return expected


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT), "-w", str(out)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("otel_errors-*.whl")
    site = out / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    return site


def test_every_package_folder_is_listed() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    assert _expected_packages() - listed == set(), "add these to [tool.setuptools] packages"


def test_wheel_install_imports_the_mapped_subpackages(wheel_site: Path) -> None:
    code = (
        "import otel_errors, otel_errors.receiver, otel_errors.exporter, otel_errors.api, otel_errors.cli;"
        "from importlib import resources;"
        "assert resources.files('otel_errors.exporter').joinpath('migrations/0001_init.sql').is_file();"
        "print(otel_errors.receiver.__file__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(wheel_site)},
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().startswith(str(wheel_site / "otel_errors" / "receiver"))
    with zipfile.ZipFile(next(wheel_site.parent.glob("*.whl"))) as whl:
        names = set(whl.namelist())
    assert "otel_errors/py.typed" in names and "otel_errors/exporter/migrations/0001_init.sql" in names
    assert not any(n.startswith(("receiver/", "api/", "tests/")) for n in names)  # no generic top-level packages
    if shutil.which("cc") or shutil.which("gcc"):  # setup.py compiles the hot path where it can
        assert any(n.startswith("otel_errors/processor.") and n.endswith(".so") for n in names), sorted(names)


# Processes deterministic benchmark requests (fixed clock, ids and receive times) and prints where the processor
# was loaded from and a digest of every batch it produced.
_DIGEST_BATCHES = f"""
import hashlib, random, secrets, sys, time
sys.path.insert(0, {str(ROOT / "bench")!r})
rng = random.Random(5)
secrets.token_bytes = rng.randbytes
real_time_ns, time.time_ns = time.time_ns, lambda: 1_764_000_000_000_000_000
from ingest import build_templates, render
templates = build_templates(12, 256, 0.3, seed=3)
time.time_ns = real_time_ns
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
import otel_errors.processor
from otel_errors import Processor
processor, digest = Processor(), hashlib.sha256()
for i in range(120):
    request = ExportTraceServiceRequest.FromString(render(templates[i % len(templates)], i))
    batch = processor.process_traces(request, None, 1_764_000_000_000_000_000 + i)
    rows = (batch.events, batch.error_spans, batch.executions, batch.rejected, batch.rejected_reason)
    digest.update(repr(rows).encode())
print(otel_errors.processor.__file__)
print(digest.hexdigest())
"""


def test_pure_python_build_processes_exactly_like_the_compiled_one(tmp_path: Path) -> None:
    """OTEL_ERRORS_PURE_PYTHON=1 (or no compiler) installs the hot path as plain Python: the same batches, byte
    for byte, as the compiled modules this checkout runs (mypyc checks annotations at run time and may rebuild
    tuples: a difference would show here)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(ROOT),
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "OTEL_ERRORS_PURE_PYTHON": "1"},
    )
    (wheel,) = tmp_path.glob("otel_errors-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        assert not [n for n in whl.namelist() if n.endswith(".so")]
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    pure = subprocess.run(
        [sys.executable, "-c", _DIGEST_BATCHES],
        env={**os.environ, "PYTHONPATH": str(site)},
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    here = subprocess.run(
        [sys.executable, "-c", _DIGEST_BATCHES], cwd="/", capture_output=True, text=True, check=True
    ).stdout.split()
    assert pure[0] == str(site / "otel_errors" / "processor.py")
    if shutil.which("cc") or shutil.which("gcc"):
        assert here[0].startswith(str(ROOT / "otel_errors" / "processor.")) and here[0].endswith(".so")
    assert pure[1] == here[1]


def test_editable_install_imports_the_mapped_subpackages() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import otel_errors.receiver as r; print(r.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == str(ROOT / "receiver" / "__init__.py")


def test_core_imports_none_of_the_io_layers() -> None:
    forbidden = (
        "otel_errors.receiver",
        "otel_errors.exporter",
        "otel_errors.api",
        "otel_errors.cli",
        "psycopg",
        "grpc",
        "fastapi",
        "uvicorn",
        "socket",
        "subprocess",
    )
    offenders = []
    for path in (ROOT / "otel_errors").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            )
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith(forbidden)]
    assert offenders == []
