"""A bare Flask hello-world: the ceiling the forum's pages are compared against.

Served exactly like the forum by ``bench.py``:
``gunicorn -w 2 -b 127.0.0.1:PORT --chdir tests/bench hello:app``.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    """The smallest possible page."""
    return "Hello, World!"
