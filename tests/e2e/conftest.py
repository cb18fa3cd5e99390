"""Real-browser fixtures: a live forum server, Debian's chromium, a phone and a desktop.

The server is the real app (CSRF on, rate limits off) on a SQLite file, served by werkzeug
on 127.0.0.1 in a background thread. The browser is ``/usr/bin/chromium`` driven by
Playwright (no browser download). Every test that asks for ``viewport`` runs twice: on a
390×844 touch phone and on a 1280×800 desktop. ``shot(page, "step")`` saves a full-page
screenshot to ``artifacts/e2e/<viewport>/<nn>-<step>.png`` and checks that the page has no
horizontal overflow and raised no JavaScript error.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
PASSWORD = "correct-horse-9"

VIEWPORTS = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
    "desktop": {
        "viewport": {"width": 1280, "height": 800},
        "device_scale_factor": 1,
    },
}

if not Path(CHROMIUM).exists():  # pragma: no cover - developer machines without chromium
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)",
        allow_module_level=True,
    )


@dataclass
class LiveServer:
    """The running forum: its ``url``, the Flask ``app`` and what the seeding made."""

    url: str
    app: object
    public_slug: str = "running"
    public_name: str = "跑步打卡"
    private_slug: str = "inner-circle"
    private_name: str = "核心会员区"
    private_thread_id: int = 0
    extras: dict = field(default_factory=dict)

    def outbox(self) -> list:
        """The mails the forum has "sent" (kept in memory when no SMTP is configured)."""
        return list(self.app.extensions.get("forum_outbox", []))

    def link_in_mail_to(self, email: str, path_prefix: str = "/confirm/") -> str:
        """The first link starting with ``SITE_URL + path_prefix`` in the last mail to ``email``."""
        for msg in reversed(self.outbox()):
            if msg["To"] != email:
                continue
            body = msg.get_content()
            match = re.search(re.escape(self.url + path_prefix) + r"\S+", body)
            if match:
                return match.group(0)
        raise AssertionError(f"no mail with a {path_prefix} link to {email}")

    def create_member(self, username: str, email: str, password: str = PASSWORD) -> None:
        """A confirmed, active member, made directly in the server's database."""
        from forum.extensions import db
        from forum.services.members import create_member

        with self.app.app_context():
            create_member(username, email, password)
            db.session.remove()


def _seed(app) -> int:
    """A category with a public board and a members-only board (with one thread in it)."""
    from forum.extensions import db
    from forum.services import boards, permissions, posting
    from forum.services.members import create_member

    with app.app_context():
        category = boards.create_category("运动与生活")
        boards.create_board(category, "running", "跑步打卡", "每天跑一点，记录配速与心得。")
        private = boards.create_board(
            category, "inner-circle", "核心会员区", "只有登录会员才能看到的板块。"
        )
        permissions.set_board_permissions(private.id, {permissions.group_id("guest"): []})
        db.session.commit()
        owner = create_member("版务小组", "owner@example.com", PASSWORD)
        thread = posting.create_thread(
            owner, private, "会员专属：本月团购清单", "只给会员看的内容。"
        )
        thread_id = thread.id
        db.session.remove()
    return thread_id


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    from werkzeug.serving import make_server

    from forum.testing import make_test_app

    tmp = tmp_path_factory.mktemp("e2e")
    app = make_test_app(
        tmp,
        f"sqlite:///{tmp / 'forum.db'}",
        WTF_CSRF_ENABLED=True,
        RATELIMIT_ENABLED=False,
        # installed, switched off: only the plugin journey switches it on (and off again)
        EXTRA_PLUGINS={"sample": "tests.sample_plugin"},
    )
    private_thread_id = _seed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["SITE_URL"] = url  # links in mails point at this server
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=url, app=app, private_thread_id=private_thread_id)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


#: One Playwright and one chromium per test process, however many modules import these
#: fixtures (a plugin's journey does, from plugins/<name>/tests): Playwright's sync API
#: refuses to start twice in one process. ``users`` counts the fixtures holding it.
_SHARED_BROWSER: dict = {"users": 0}


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    shared = _SHARED_BROWSER
    if not shared["users"]:
        shared["playwright"] = sync_playwright().start()
        shared["browser"] = shared["playwright"].chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
    shared["users"] += 1
    try:
        yield shared["browser"]
    finally:
        shared["users"] -= 1
        if not shared["users"]:
            shared.pop("browser").close()
            shared.pop("playwright").stop()


@pytest.fixture(params=list(VIEWPORTS), scope="session")
def viewport(request) -> str:
    """``"phone"`` or ``"desktop"``: every test using it runs on both."""
    return request.param


@pytest.fixture
def new_context(browser, viewport, live_server):
    """``new_context()`` → a fresh browser context (own cookies) for the current viewport."""
    contexts = []

    def make(**extra):
        options = {
            **VIEWPORTS[viewport],
            "base_url": live_server.url,
            "locale": "zh-CN",
            "timezone_id": "Asia/Shanghai",
            **extra,
        }
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


class Shooter:
    """Numbered full-page screenshots per viewport, with a layout check on each."""

    def __init__(self, viewport: str):
        self.viewport = viewport
        self.folder = ARTIFACTS / viewport
        self.folder.mkdir(parents=True, exist_ok=True)
        self.errors: list[str] = []

    def watch(self, page) -> None:
        """Record JavaScript errors raised on ``page``."""
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))

    def __call__(self, page, step: str) -> Path:
        number = len(list(self.folder.glob("*.png"))) + 1
        path = self.folder / f"{number:02d}-{step}.png"
        # from the top, or the sticky top bar is drawn in the middle of a full-page picture
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(path), full_page=True)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{step}: page is {overflow}px wider than the {self.viewport} screen"
        assert not self.errors, f"JavaScript errors: {self.errors}"
        return path


@pytest.fixture
def shot(viewport) -> Shooter:
    return Shooter(viewport)
