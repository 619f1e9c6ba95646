"""The system's Chromium for the browser tests (Debian's `chromium`, installed when missing: never a
browser download by Playwright), and the vendored axe-core, checked against its pinned digest."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from peakon_ingest.devtools.vendored import AXE, verified

# The binary itself: Debian's /usr/bin/chromium is a shell wrapper Playwright cannot drive.
CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/lib/chromium-browser/chromium-browser")


def chromium() -> str:
    """The path of the system's Chromium; apt-get installs it first where it is missing (as root,
    or through sudo without a password). Fails, never skips: CI must run these tests."""
    configured = os.environ.get("PEAKON_TEST_CHROMIUM")
    if configured:
        return configured
    for path in CANDIDATES:
        if Path(path).is_file():
            return path
    root = [] if os.geteuid() == 0 else ["sudo", "-n"]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = shutil.which("apt-get")
    assert apt, "the browser tests need Debian's chromium and there is no apt-get: set PEAKON_TEST_CHROMIUM"
    subprocess.run([*root, apt, "update", "-qq"], check=True, env=environment, timeout=600)
    subprocess.run([*root, apt, "install", "-y", "-qq", "chromium"], check=True, env=environment, timeout=1200)
    for path in CANDIDATES:
        if Path(path).is_file():
            return path
    raise AssertionError(f"chromium installed, but none of {', '.join(CANDIDATES)} exists")


def axe_source() -> str:
    return verified(AXE.files[0]).decode()
