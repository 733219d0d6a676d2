"""Debian's headless Chromium driven by playwright (no browser download: ``make test``
installs the ``chromium`` package when it is missing)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, async_playwright

CHROMIUM = os.environ.get("CRMKPI_CHROMIUM", "/usr/bin/chromium")
#: Flags that keep Chromium quiet and self-contained on a CI machine.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
#: Where screenshots go (kept after the run, for people and CI to look at).
ARTIFACTS = Path(os.environ.get("CRMKPI_TEST_ARTIFACTS", "var/test-artifacts"))


def artifact(name: str) -> Path:
    """A path under ARTIFACTS for a screenshot (the folder is created)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"{CHROMIUM} not found: run `make test` (installs Debian's chromium) or "
            "`apt-get install --no-install-recommends chromium`"
        )


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    _require_chromium()
    # playwright gives every launch a fresh, temporary profile (its own --user-data-dir).
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()
