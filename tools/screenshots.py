#!/usr/bin/env python
"""Screenshots of the dashboard for the README: a fresh server (embedded PostgreSQL in a temporary directory),
the example agent's errors, then Debian's Chromium (Playwright) at 1280 px (the page and the details panel)
and 390 px (a phone).

    .venv/bin/python tools/screenshots.py            # writes docs/dashboard.png, dashboard-details.png, -phone.png
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not become healthy")


def run_example(grpc_port: int, executions: int, where: Path) -> None:
    """Two runs with different seeds. The agent runs from a copy in `where`, so the stack traces in the
    pictures show a neutral path rather than this checkout's."""
    agent = where / "agent" / "python_agent.py"
    agent.parent.mkdir()
    shutil.copy(ROOT / "examples" / "python_agent.py", agent)
    for seed in (7, 11):
        subprocess.run(
            [sys.executable, str(agent), "--endpoint", f"127.0.0.1:{grpc_port}",
             "--executions", str(executions), "--seed", str(seed)],
            cwd=where, check=True, capture_output=True,
        )  # fmt: skip


def shoot(base: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        page = context.new_page()
        page.goto(f"{base}/?refresh=3600")
        page.wait_for_selector("body[data-usable='true']", timeout=30_000)
        page.wait_for_timeout(300)
        page.screenshot(path=str(out / "dashboard.png"), full_page=True)
        page.locator("#error-rows button.row-button").first.click()
        page.wait_for_selector("#details-title")
        page.wait_for_timeout(300)
        page.locator("aside.side").screenshot(path=str(out / "dashboard-details.png"))
        context.close()
        phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US", device_scale_factor=2)
        page = phone.new_page()
        page.goto(f"{base}/?refresh=3600")
        page.wait_for_selector("body[data-usable='true']", timeout=30_000)
        page.wait_for_timeout(300)
        page.screenshot(path=str(out / "dashboard-phone.png"))
        phone.close()
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "docs"))
    parser.add_argument("--executions", type=int, default=40)
    args = parser.parse_args()
    ports = {
        "OTEL_ERRORS_GRPC_PORT": free_port(),
        "OTEL_ERRORS_HTTP_PORT": free_port(),
        "OTEL_ERRORS_API_PORT": free_port(),
    }
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "OTEL_ERRORS_DATA_DIR": data, "OTEL_ERRORS_LOG_LEVEL": "warning",
               **{k: str(v) for k, v in ports.items()}}  # fmt: skip
        env.pop("OTEL_ERRORS_DATABASE_URL", None)
        log = Path(data) / "server.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen([sys.executable, "-m", "otel_errors.cli.main", "serve"], env=env, cwd=ROOT,
                                    stdout=sink, stderr=subprocess.STDOUT)  # fmt: skip
            try:
                base = f"http://127.0.0.1:{ports['OTEL_ERRORS_API_PORT']}"
                wait_healthy(base, proc)
                run_example(ports["OTEL_ERRORS_GRPC_PORT"], args.executions, Path(data))
                time.sleep(2)  # the last batches committed
                shoot(base, Path(args.out))
            finally:
                proc.terminate()
                proc.wait(timeout=60)
    for name in ("dashboard.png", "dashboard-details.png", "dashboard-phone.png"):
        print(Path(args.out) / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
