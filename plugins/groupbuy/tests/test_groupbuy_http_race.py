"""No overselling through real HTTP: gunicorn workers on the test's own database, many
members signed in with their own cookies, all released together to join, pay in the sandbox.

PostgreSQL: 4 workers, 200 buyers on stock 50. SQLite: 2 workers, 40 buyers on stock 10.
Each buyer signs in through the login form (its CSRF token read from the page), reads the
campaign's thread page for the join form's token, then, once every buyer is ready (a
barrier), POSTs the join (quantity 1), follows the winner's redirect to the checkout,
chooses the sandbox and pays. Losers follow the redirect back to the thread page, which must
say the group-buy is sold out. Nothing may answer 5xx, and the server log must hold no
traceback. The POST join's latency (p50, p99) is printed and written to
``artifacts/bench/groupbuy_join.json``.

Bounded: every request has a 30 s timeout, a watchdog stops the server at 110 s (every
request still waiting then fails at once), and the test is skipped with the server log's tail
when gunicorn cannot start.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from forum_plugins.groupbuy.models import Campaign, GroupOrder
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from forum.extensions import db
from forum.models import PaymentOrder
from forum.testing import FAST_PASSWORD_HASH, PASSWORD

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "artifacts" / "bench"
REQUEST_TIMEOUT = 30.0
#: The server is stopped after this many seconds whatever happens (the test stays < 120 s).
WATCHDOG_SECONDS = 110.0
SECRET = "http-race-secret"

#: database kind → (gunicorn workers, buyers, stock)
LOADS = {"postgres": (4, 200, 50), "sqlite": (2, 40, 10)}

#: Gunicorn's access log line: method, path, status, microseconds spent in the worker.
ACCESS_FORMAT = "ACCESS %(m)s %(U)s %(s)s %(D)s"
_ACCESS = re.compile(r"^ACCESS (\S+) (\S+) (\d{3}) (\d+)$", re.M)
_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
_VALUE = re.compile(r'value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on the page (fails the test when there is none)."""
    tag = _CSRF.search(html)
    value = _VALUE.search(tag.group(0)) if tag else None
    assert value, "no csrf_token on the page: " + html[:300]
    return value.group(1)


class Gunicorn:
    """The forum under ``gunicorn -k sync`` on 127.0.0.1, in its own process group (stopped
    by that group's id, never by name)."""

    def __init__(self, env: dict[str, str], workers: int, log_path: Path) -> None:
        self.port = _free_port()
        self.log_path = log_path
        self._log = log_path.open("w")
        cmd = [
            sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "sync",
            "-b", f"{HOST}:{self.port}", "--timeout", "60", "--graceful-timeout", "5",
            "--access-logfile", "-", "--access-logformat", ACCESS_FORMAT,
            "forum.app:create_app()",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd,
            cwd=str(ROOT),
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def url(self, path: str) -> str:
        """An absolute URL of ``path`` (a redirect's ``Location`` may already be one)."""
        if path.startswith("http://"):
            return path
        return f"http://{HOST}:{self.port}{path}"

    def wait_ready(self, timeout: float = 40.0) -> str:
        """Wait until ``/login`` answers 200; the reason it did not ("" when ready)."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"gunicorn exited with {self.proc.returncode}"
            try:
                response = requests.get(self.url("/login"), timeout=5)
                if response.status_code == 200:
                    return ""
                last = f"HTTP {response.status_code}"
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.2)
        return f"not ready after {timeout:.0f} s ({last})"

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it if it lingers."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
        if not self._log.closed:
            self._log.close()


@dataclass
class Buyer:
    """One member's browser: its own cookie jar, what it saw and how long its join took."""

    username: str
    session: requests.Session
    statuses: list[tuple[str, int]] = field(default_factory=list)
    join_ms: float | None = None
    outcome: str = ""  # "paid", "sold_out", or what went wrong
    detail: str = ""

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        response = self.session.request(method, url, **kwargs)
        for step in [*response.history, response]:
            self.statuses.append((f"{method} {step.url}", step.status_code))
        return response


def _browser() -> requests.Session:
    session = requests.Session()
    session.cookies.set("lang", "en")
    session.headers["Accept-Language"] = "en"
    return session


def _server_env(app) -> dict[str, str]:
    """The FORUM_* settings that point gunicorn at the test app's database and instance."""
    return {
        "FORUM_DATABASE_URL": app.config["DATABASE_URL"],
        "FORUM_INSTANCE_PATH": app.instance_path,
        "FORUM_SECRET_KEY": SECRET,
        "FORUM_PASSWORD_HASH_METHOD": FAST_PASSWORD_HASH,
        "FORUM_RATELIMIT_ENABLED": "false",
        "FORUM_PAYMENTS_SANDBOX": "true",
        "FORUM_PAGE_CACHE_ENTRIES": "0",
        "FORUM_JOBS_IMMEDIATE": "true",
        "FORUM_JOBS_IN_PROCESS": "false",
    }


def _sign_in(server: Gunicorn, buyer: Buyer, thread_path: str) -> str:
    """Sign ``buyer`` in through the form; the join form's CSRF token from the thread page."""
    page = buyer.request("GET", server.url("/login"))
    assert page.status_code == 200, page.status_code
    done = buyer.request(
        "POST",
        server.url("/login"),
        data={"csrf_token": csrf_token(page.text), "login": buyer.username, "password": PASSWORD},
    )
    assert done.status_code == 302, (done.status_code, done.text[:300])
    thread = buyer.request("GET", server.url(thread_path), allow_redirects=True)
    assert thread.status_code == 200, thread.status_code
    assert "/join" in thread.text, "no join form for " + buyer.username
    return csrf_token(thread.text)


def _buy(server: Gunicorn, buyer: Buyer, join_path: str, data: dict[str, str]) -> None:
    """Join, then pay in the sandbox (a winner) or read the refusal (a loser)."""
    started = time.perf_counter()
    joined = buyer.request("POST", server.url(join_path), data=data)
    buyer.join_ms = (time.perf_counter() - started) * 1000
    if joined.status_code != 302:
        buyer.outcome, buyer.detail = f"join answered {joined.status_code}", joined.text[:300]
        return
    location = joined.headers["Location"]
    if "/pay/" not in location:
        page = buyer.request("GET", server.url(location), allow_redirects=True)
        sold_out = page.status_code == 200 and "sold out" in page.text.lower()
        buyer.outcome = "sold_out" if sold_out else f"refused, page {page.status_code}"
        if not sold_out:
            buyer.detail = re.sub(r"\s+", " ", page.text)[:400]
        return
    checkout = buyer.request("GET", server.url(location), allow_redirects=True)
    if checkout.status_code != 200 or 'value="sandbox"' not in checkout.text:
        buyer.outcome, buyer.detail = f"checkout {checkout.status_code}", checkout.text[:300]
        return
    token = csrf_token(checkout.text)
    chosen = buyer.request("POST", checkout.url, data={"csrf_token": token, "provider": "sandbox"})
    sandbox = chosen.headers.get("Location", "")
    if chosen.status_code != 302 or not sandbox.endswith("/sandbox"):
        buyer.outcome, buyer.detail = f"choose sandbox {chosen.status_code}", chosen.text[:300]
        return
    paid = buyer.request("POST", server.url(sandbox), data={"csrf_token": token, "outcome": "pay"})
    if paid.status_code != 302 or "/sandbox" in paid.headers.get("Location", "/sandbox"):
        buyer.outcome, buyer.detail = f"sandbox pay {paid.status_code}", paid.text[:300]
        return
    receipt = buyer.request("GET", server.url(paid.headers["Location"]), allow_redirects=True)
    buyer.outcome = "paid" if receipt.status_code == 200 else f"receipt {receipt.status_code}"


def _percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def _server_join_ms(log: str) -> list[float]:
    """The worker-side time of every POST join in the access log (no queueing), in ms."""
    return [
        int(us) / 1000
        for method, path, _status, us in _ACCESS.findall(log)
        if method == "POST" and path.endswith("/join")
    ]


def _write_latency(kind: str, result: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "groupbuy_join.json"
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        found = {}
    found[kind] = result
    path.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")


def _assert_stock_check(campaign_id: int) -> None:
    """The table refuses a negative stock_left (the CHECK is there and enforced)."""
    checks = inspect(db.engine).get_check_constraints("groupbuy_campaign")
    assert any(re.search(r"stock_left\s*>=\s*0", c["sqltext"]) for c in checks), checks
    with pytest.raises(IntegrityError):
        db.session.execute(
            text("UPDATE groupbuy_campaign SET stock_left = -1 WHERE id = :id"),
            {"id": campaign_id},
        )
        db.session.flush()
    db.session.rollback()


def test_buyers_over_http_never_oversell(
    app, database_kind, groupbuy, make_campaign, make_member, point_id, tmp_path
):
    begun = time.monotonic()
    if importlib.util.find_spec("gunicorn") is None:
        pytest.skip("gunicorn is not installed")
    workers, buyers_count, stock = LOADS[database_kind]
    campaign = make_campaign(stock=str(stock), per_member_limit="1", min_participants="1")
    cid, pid, thread_id = campaign.id, point_id(campaign), campaign.thread_id
    names = [make_member(f"racer{i}").username for i in range(buyers_count)]
    db.session.remove()  # no connection of ours holds a transaction while the server writes

    log_path = tmp_path / f"gunicorn-{database_kind}.log"
    server = Gunicorn(_server_env(app), workers, log_path)
    watchdog = threading.Timer(WATCHDOG_SECONDS - (time.monotonic() - begun), server.stop)
    watchdog.daemon = True
    watchdog.start()
    buyers = [Buyer(name, _browser()) for name in names]
    try:
        why = server.wait_ready()
        if why:
            pytest.skip(f"gunicorn could not start: {why}\n{server.log()[-2000:]}")
        thread_path, join_path = f"/t/{thread_id}", f"/groupbuy/c/{cid}/join"
        with ThreadPoolExecutor(max_workers=16) as pool:
            tokens = list(pool.map(lambda b: _sign_in(server, b, thread_path), buyers))
        ready = time.monotonic()

        barrier = threading.Barrier(buyers_count)
        crashed: list[str] = []

        def run(i: int) -> None:
            buyer = buyers[i]
            form = {"csrf_token": tokens[i], "quantity": "1", "pickup_point_id": str(pid)}
            try:
                barrier.wait(timeout=30)
                _buy(server, buyer, join_path, form)
            except Exception as exc:  # noqa: BLE001 (reported below)
                crashed.append(f"{buyer.username}: {exc!r}")
                buyer.outcome = buyer.outcome or f"error {exc!r}"

        threads = [threading.Thread(target=run, args=(i,)) for i in range(buyers_count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1.0, WATCHDOG_SECONDS - (time.monotonic() - begun)))
        assert not any(t.is_alive() for t in threads), "buyers still waiting"
        raced = time.monotonic() - ready
    finally:
        watchdog.cancel()
        server.stop()
    log = server.log_path.read_text(errors="replace")
    ARTIFACTS.joinpath("logs").mkdir(parents=True, exist_ok=True)
    ARTIFACTS.joinpath("logs", f"groupbuy_http_race_{database_kind}.log").write_text(log)

    latencies = [b.join_ms for b in buyers if b.join_ms is not None]
    served = _server_join_ms(log)
    result = {
        "database": database_kind,
        "workers": workers,
        "buyers": buyers_count,
        "stock": stock,
        "join_p50_ms": round(_percentile(latencies, 50), 1),
        "join_p99_ms": round(_percentile(latencies, 99), 1),
        "join_max_ms": round(max(latencies), 1),
        "server_join_p50_ms": round(_percentile(served, 50), 1) if served else None,
        "server_join_p99_ms": round(_percentile(served, 99), 1) if served else None,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "race_seconds": round(raced, 2),
        "test_seconds": round(time.monotonic() - begun, 2),
    }
    print(f"\ngroupbuy join over HTTP ({database_kind}): {json.dumps(result)}")
    _write_latency(database_kind, result)

    server_errors = [(what, code) for b in buyers for what, code in b.statuses if code >= 500]
    assert not server_errors, server_errors[:10]
    assert not crashed, crashed[:10]
    problems = re.findall(r"Traceback|database is locked|\[ERROR\]|\[CRITICAL\]", log)
    assert not problems, log[-4000:]
    outcomes: dict[str, list[str]] = {}
    for b in buyers:
        outcomes.setdefault(b.outcome, []).append(b.username)
    odd = {k: v[:5] for k, v in outcomes.items() if k not in ("paid", "sold_out")}
    details = [b.detail for b in buyers if b.outcome not in ("paid", "sold_out")][:3]
    assert not odd, (odd, details)
    assert len(outcomes.get("paid", [])) == stock
    assert len(outcomes.get("sold_out", [])) == buyers_count - stock

    db.session.expire_all()
    found = db.session.get(Campaign, cid)
    assert found.stock_left == 0
    assert found.participants == stock and found.quantity_paid == stock
    counts = dict(
        db.session.execute(
            db.select(GroupOrder.status, db.func.count())
            .where(GroupOrder.campaign_id == cid)
            .group_by(GroupOrder.status)
        ).all()
    )
    assert counts == {"paid": stock}, counts
    paid_payments = db.session.execute(
        db.select(db.func.count())
        .select_from(PaymentOrder)
        .where(PaymentOrder.plugin == "groupbuy", PaymentOrder.status == "paid")
    ).scalar_one()
    all_payments = db.session.execute(
        db.select(db.func.count())
        .select_from(PaymentOrder)
        .where(PaymentOrder.plugin == "groupbuy")
    ).scalar_one()
    assert paid_payments == all_payments == stock
    _assert_stock_check(cid)
    assert time.monotonic() - begun < 120
