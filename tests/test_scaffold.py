"""``forum plugins new``: what it writes, what it refuses, and that its output installs and
its own tests pass.

The install test never touches the shared virtual environment: the new plugin is installed
(``pip install -e``) into a prefix under ``tmp_path``, and every command that should see it
runs in a subprocess that adds that prefix's site-packages with ``site.addsitedir`` (the
``.pth`` file of an editable install is only read in a site directory).
"""

from __future__ import annotations

import gettext
import importlib.metadata
import importlib.util
import os
import re
import runpy
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from forum import scaffold
from forum.cli import cli
from forum.scaffold import ScaffoldError, create_plugin

NAME = "scaffold_probe"  # a name no real plugin takes
PYTHON = sys.executable
CORE_MIGRATIONS = Path(scaffold.__file__).parent / "migrations"


def _folder(tmp_path: Path, name: str = NAME) -> Path:
    return create_plugin(name, tmp_path)


# -- what it writes ------------------------------------------------------------------------------


def test_writes_a_complete_distribution(tmp_path):
    folder = _folder(tmp_path)
    assert folder == tmp_path / f"shequn-{NAME}"
    package = folder / f"shequn_{NAME}"
    for relative in (
        "pyproject.toml",
        "README.md",
        "babel.cfg",
        f"shequn_{NAME}/__init__.py",
        f"shequn_{NAME}/models.py",
        f"shequn_{NAME}/services.py",
        f"shequn_{NAME}/views.py",
        f"shequn_{NAME}/templates/{NAME}/index.html",
        f"shequn_{NAME}/templates/{NAME}/profile_card.html",
        f"shequn_{NAME}/translations/zh_Hans/LC_MESSAGES/messages.po",
        f"shequn_{NAME}/translations/zh_Hans/LC_MESSAGES/messages.mo",
        f"shequn_{NAME}/migrations/versions/{NAME}_0001_initial.py",
        "tests/conftest.py",
        f"tests/test_{NAME}.py",
    ):
        assert (folder / relative).is_file(), relative
    assert package.is_dir()

    meta = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["build-system"]["build-backend"] == "setuptools.build_meta"
    project = meta["project"]
    assert project["name"] == f"shequn-{NAME}" and project["version"] == "0.1.0"
    assert [d.split(">")[0] for d in project["dependencies"]] == ["shequn"]
    assert project["entry-points"]["forum.plugins"] == {NAME: f"shequn_{NAME}"}
    data = meta["tool"]["setuptools"]["package-data"][f"shequn_{NAME}"]
    assert {d.split("/")[0] for d in data} == {"templates", "translations", "migrations"}

    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "pip install -e ." in readme and f"forum plugins enable {NAME}" in readme
    assert 'pytest_plugins = ["forum.testing"]' in (folder / "tests/conftest.py").read_text()


def test_first_migration_is_a_branch_on_the_core_head(tmp_path):
    folder = _folder(tmp_path)
    versions = folder / f"shequn_{NAME}" / "migrations" / "versions"
    revision = runpy.run_path(str(versions / f"{NAME}_0001_initial.py"))
    assert revision["revision"] == f"{NAME}_0001"
    assert revision["down_revision"] is None
    assert revision["branch_labels"] == (NAME,)
    assert revision["depends_on"] == ScriptDirectory(str(CORE_MIGRATIONS)).get_current_head()

    both = ScriptDirectory(
        str(CORE_MIGRATIONS), version_locations=[str(CORE_MIGRATIONS / "versions"), str(versions)]
    )
    assert both.get_revision(f"{NAME}@head").revision == f"{NAME}_0001"


def test_the_longest_name_fits_alembic(tmp_path):
    name = "a" + "b" * 23
    assert len(scaffold.revision_id(name)) <= 32
    folder = _folder(tmp_path, name)
    versions = folder / f"shequn_{name}" / "migrations" / "versions"
    revision = runpy.run_path(str(versions / f"{name}_0001_initial.py"))
    assert revision["revision"] == scaffold.revision_id(name)


def test_translation_is_compiled(tmp_path):
    folder = _folder(tmp_path)
    messages = folder / f"shequn_{NAME}" / "translations" / "zh_Hans" / "LC_MESSAGES"
    with (messages / "messages.mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    assert catalog.gettext("Most active members") == "最活跃的成员"
    assert catalog.ngettext("%(num)d post", "%(num)d posts", 3) == "%(num)d 篇帖子"
    po = (messages / "messages.po").read_text(encoding="utf-8")
    assert scaffold.compile_po(po) == (messages / "messages.mo").read_bytes()


def test_generated_code_is_ruff_clean(tmp_path):
    folder = _folder(tmp_path)
    for args in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        result = subprocess.run(
            [PYTHON, "-m", "ruff", *args], cwd=folder, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr


# -- what it refuses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, message",
    [
        ("Hello", "not a valid plugin name"),
        ("x", "not a valid plugin name"),
        ("9lives", "not a valid plugin name"),
        ("has-dash", "not a valid plugin name"),
        ("a" * 41, "not a valid plugin name"),
        ("forum", "reserved"),
        ("admin", "blueprints"),
        ("login", "URLs under /login"),
        ("post", "table 'post"),
        ("plugin", "table 'plugin_"),
    ],
)
def test_refuses_unusable_names(tmp_path, name, message):
    with pytest.raises(ScaffoldError, match=message):
        create_plugin(name, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_name_whose_package_is_importable(tmp_path, monkeypatch):
    modules = tmp_path / "modules"
    (modules / f"shequn_{NAME}").mkdir(parents=True)
    (modules / f"shequn_{NAME}" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(modules))
    importlib.invalidate_caches()
    with pytest.raises(ScaffoldError, match="can already be imported"):
        create_plugin(NAME, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_refuses_names_of_installed_plugins(tmp_path, monkeypatch):
    installed = importlib.metadata.EntryPoint("taken", "somewhere", "forum.plugins")

    def entry_points(**kwargs):
        return [installed] if kwargs.get("group") == "forum.plugins" else []

    monkeypatch.setattr(scaffold.importlib.metadata, "entry_points", entry_points)
    with pytest.raises(ScaffoldError, match="already installed"):
        create_plugin("taken", tmp_path)
    with pytest.raises(ScaffoldError, match="would share table names"):
        create_plugin("taken_too", tmp_path)


def test_never_overwrites(tmp_path):
    folder = _folder(tmp_path)
    (folder / "README.md").write_text("mine", encoding="utf-8")
    with pytest.raises(ScaffoldError, match="already exists"):
        create_plugin(NAME, tmp_path)
    assert (folder / "README.md").read_text(encoding="utf-8") == "mine"


def test_command_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["plugins", "new", NAME, "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"shequn-{NAME}" / "pyproject.toml").is_file()
    assert "pip install -e ." in result.output and f"forum plugins enable {NAME}" in result.output

    again = runner.invoke(cli, ["plugins", "new", NAME, "--dir", str(tmp_path)])
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(cli, ["plugins", "new", "Bad-Name", "--dir", str(tmp_path)])
    assert bad.exit_code == 1 and "not a valid plugin name" in bad.output


# -- it installs, and its own tests pass ---------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    """This process's environment without the forum's settings (and PYTHONPATH), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_") and k != "PYTHONPATH"}
    env.update(extra)
    return env


def _build_tools(tmp_path: Path) -> str | None:
    """A folder to put on PYTHONPATH so that setuptools can build the editable wheel, or None
    when it can already. setuptools before 70.1 needs the ``wheel`` package, which a plain
    venv lacks; it is installed into ``tmp_path`` (never into the venv)."""
    import setuptools

    version = tuple(int(p) for p in setuptools.__version__.split(".")[:2] if p.isdigit())
    if version >= (70, 1) or importlib.util.find_spec("wheel") is not None:
        return None
    target = tmp_path / "build-tools"
    result = subprocess.run(
        [PYTHON, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), "wheel"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    if result.returncode != 0:
        pytest.skip(
            f"pip cannot build an editable install here: setuptools {setuptools.__version__} "
            f"needs the wheel package and pip could not get it:\n{result.stderr[-600:]}"
        )
    return str(target)


def _site_dir(prefix: Path) -> str:
    """The site-packages folder pip installed into under ``prefix``."""
    pth = next(prefix.rglob("__editable__*.pth"), None)
    assert pth is not None, f"no editable .pth under {prefix}: {sorted(prefix.rglob('*'))}"
    return str(pth.parent)


def _tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_scaffold_installs_and_its_own_tests_pass(tmp_path):
    started = time.monotonic()
    folder = create_plugin(NAME, tmp_path / "src")
    instance = tmp_path / "instance"
    cli_env = _env(FORUM_INSTANCE_PATH=str(instance))

    # An instance made before the plugin is installed, as on a real site.
    init = subprocess.Popen(
        [PYTHON, "-c", "from forum.cli import main; main()", "init"],
        cwd=tmp_path,
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    prefix = tmp_path / "prefix"
    tools = _build_tools(tmp_path)
    pip_env = _env(PYTHONPATH=tools) if tools else _env()
    pip = subprocess.run(
        [PYTHON, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps"]
        + ["--no-build-isolation", "--prefix", str(prefix), "-e", str(folder)],
        capture_output=True,
        text=True,
        timeout=180,
        env=pip_env,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    site_dir = _site_dir(prefix)
    init_out, _ = init.communicate(timeout=180)
    assert init.returncode == 0, init_out

    # (c) The plugin's own tests, in its folder, run while the commands below do.
    test_env = _env()
    if os.environ.get("FORUM_TEST_DATABASE_URL"):
        test_env["FORUM_TEST_DATABASE_URL"] = os.environ["FORUM_TEST_DATABASE_URL"]
    log = tmp_path / "plugin-tests.log"
    with log.open("w") as out:
        tests = subprocess.Popen(
            [
                PYTHON,
                "-c",
                f"import site, sys; site.addsitedir({site_dir!r}); import pytest; "
                "sys.exit(pytest.main(['-q', 'tests', '-p', 'no:cacheprovider']))",
            ],
            cwd=folder,
            env=test_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

        def forum(*args: str) -> subprocess.CompletedProcess:
            code = f"import site; site.addsitedir({site_dir!r}); from forum.cli import main; main()"
            return subprocess.run(
                [PYTHON, "-c", code, *args],
                cwd=tmp_path,
                env=cli_env,
                capture_output=True,
                text=True,
                timeout=120,
            )

        try:
            # (a) The installed plugin is found, and starts disabled.
            listed = forum("plugins", "list")
            assert listed.returncode == 0, listed.stdout + listed.stderr
            line = next((x for x in listed.stdout.splitlines() if x.startswith(NAME)), "")
            assert line.split()[1:2] == ["disabled"], listed.stdout

            # (b) `forum db upgrade` runs its migration branch, then it can be enabled.
            database = instance / "forum.db"
            assert f"{NAME}_tally" not in _tables(database)
            upgraded = forum("db", "upgrade")
            assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
            assert f"{NAME}_tally" in _tables(database)
            with sqlite3.connect(database) as conn:
                versions = {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}
            assert f"{NAME}_0001" in versions

            enabled = forum("plugins", "enable", NAME)
            assert enabled.returncode == 0, enabled.stdout + enabled.stderr
            assert f"plugin {NAME} enabled" in enabled.stdout
            with sqlite3.connect(database) as conn:
                state = conn.execute(
                    "SELECT enabled FROM plugin_state WHERE name = ?", (NAME,)
                ).fetchone()
            assert state == (1,)

            tests.wait(timeout=240)
        finally:
            if tests.poll() is None:
                tests.kill()
                tests.wait()
    output = log.read_text()
    assert tests.returncode == 0, output
    assert re.search(r"\b\d+ passed\b", output), output
    assert not re.search(r"\b\d+ (failed|errors?)\b", output), output
    assert time.monotonic() - started < 120, "the install test is getting slow"
