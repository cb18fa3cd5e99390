"""The core's test set-up: the fixtures of :mod:`forum.testing`, and one clean
``artifacts/e2e`` per run for the browser journeys' screenshots (core and plugins)."""

import shutil
from pathlib import Path

pytest_plugins = ["forum.testing"]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "e2e"


def pytest_sessionstart(session):
    """Empty the screenshots folder once, in the controlling process (not in each xdist
    worker, which would delete the others' screenshots)."""
    if not hasattr(session.config, "workerinput") and ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS, ignore_errors=True)  # another run may be writing
