"""scripts/setup-softphone: `npm ci` in console/ when the SDK is missing or the lock
changed, nothing when it is installed from the same lock, a clear refusal without
npm. Run on a copy of the script beside a scratch console/, with a stand-in `npm`
on the PATH that records how it was called (no registry is asked)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUNDLE = Path("node_modules/@twilio/voice-sdk/dist/twilio.min.js")
# What `npm ci` leaves behind, as far as the script looks: the bundle, and
# node_modules/.package-lock.json (npm's record of what it installed).
FAKE_NPM = f"""#!/bin/sh
echo "$@" >> "$NPM_CALLS"
mkdir -p "$(dirname {BUNDLE})"
echo "/* sdk */" > {BUNDLE}
cp package-lock.json node_modules/.package-lock.json
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts/setup-softphone", tmp_path / "scripts/setup-softphone")
    (tmp_path / "console").mkdir()
    shutil.copy(REPO / "console/package.json", tmp_path / "console/package.json")
    shutil.copy(REPO / "console/package-lock.json", tmp_path / "console/package-lock.json")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM)
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    return tmp_path


def _run(checkout: Path, *, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": path if path is not None else f"{checkout / 'bin'}:{os.environ['PATH']}",
        "NPM_CALLS": str(checkout / "npm-calls"),
    }
    return subprocess.run(
        ["bash", str(checkout / "scripts/setup-softphone")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _calls(checkout: Path) -> list[str]:
    calls = checkout / "npm-calls"
    return calls.read_text().splitlines() if calls.exists() else []


def test_installs_with_npm_ci_then_does_nothing_until_the_lock_changes(checkout: Path) -> None:
    first = _run(checkout)
    assert first.returncode == 0, first.stderr
    assert (checkout / "console" / BUNDLE).exists()
    (call,) = _calls(checkout)
    assert call.split()[0] == "ci"  # the lock, exactly: never `npm install`
    assert first.stdout == ""  # quiet: one line on stderr says what it installed

    again = _run(checkout)
    assert again.returncode == 0, again.stderr
    assert len(_calls(checkout)) == 1 and again.stdout == again.stderr == ""

    # A pull that brings a new lock: installed again.
    lock = checkout / "console/package-lock.json"
    later = time.time() + 5
    os.utime(lock, (later, later))
    assert _run(checkout).returncode == 0
    assert len(_calls(checkout)) == 2


def test_a_missing_bundle_is_installed_again(checkout: Path) -> None:
    assert _run(checkout).returncode == 0
    (checkout / "console" / BUNDLE).unlink()
    assert _run(checkout).returncode == 0
    assert len(_calls(checkout)) == 2
    assert (checkout / "console" / BUNDLE).exists()


def test_without_npm_it_says_what_to_install(checkout: Path) -> None:
    # A PATH with the shell's tools but no npm.
    tools = checkout / "tools"
    tools.mkdir()
    for name in ("dirname", "bash"):
        found = shutil.which(name)
        assert found is not None
        (tools / name).symlink_to(found)
    r = _run(checkout, path=str(tools))
    assert r.returncode == 1
    assert "npm not found" in r.stderr and "Node.js" in r.stderr
    assert not (checkout / "console/node_modules").exists()
