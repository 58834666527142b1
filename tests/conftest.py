"""Shared fixtures: an initialised platform on a temporary data directory."""

from __future__ import annotations

import fcntl
import gc
import json
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from tortoise.apps import Apps

from provd.db.connection import database, db_url_for, upgrade_schema
from provd.security.secretbox import SecretBox
from provd.services.access import accounts
from provd.services.audit import Actor
from provd.services.directory import tenants
from provd.services.platform import Platform
from provd.settings import Settings, save_settings
from tests import hypothesis_profiles

TEST_ACTOR = Actor("test")
TEST_SETTINGS = Settings(
    public_host="provd.test", https_port=8443, sip_proxy_host="sip.provd.test", bind="127.0.0.1"
)
# argon2 at its real cost (64 MiB, three passes: 0.2 s a hash here) was most of what a
# console test spent: each adds accounts and signs in. Tests check accounts and sign-in, not
# argon2's cost; tests/services/access/test_hashing.py checks the application's own.
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


# Tortoise's own: what finalises every model (its filters, field lists and base
# queries) at each Tortoise.init; tests/db/test_models.py calls it to compare.
TORTOISE_FINALISE: Callable[[Apps], None] = Apps._build_initial_querysets
_finalised_for: list[object] = [None]


def _finalise_when_changed(apps: Apps) -> None:
    """Tortoise's finalising, unless the models were last finalised as they are, for the
    same kind of database: it makes the same state again (a test compares)."""
    models = tuple(model for app in apps.apps.values() for model in app.values())
    key = (models, tuple(model._meta.db.executor_class for model in models))
    if key != _finalised_for[0]:
        TORTOISE_FINALISE(apps)
        _finalised_for[0] = key


def pytest_configure(config: pytest.Config) -> None:
    accounts.use_hasher(TEST_HASHER)
    # Each Tortoise.init finalises every model again: 10 ms an open, and the quick tier
    # opens a database a thousand times a run (the platform fixture, every CLI command),
    # 16 of its 123 CPU-seconds. provd opens its database once a process. In the quick
    # tier the models are finalised again only when they or the kind of database change
    # (a test points the ORM at PostgreSQL); CI's full run keeps tortoise's every time.
    if config.getoption("markexpr") == "not slow":
        Apps._build_initial_querysets = _finalise_when_changed  # type: ignore[method-assign,assignment]


# Before hypothesis' plugin configures: its --hypothesis-profile=full (scripts/test) wins.
hypothesis_profiles.load_default()


# The quick tier (`pytest -m "not slow"`) runs without any daemon or browser. A test that
# uses one of these fixtures, directly or through another fixture, starts one: it is slow
# without having to say so. Modules that start processes themselves mark themselves.
_DAEMON_FIXTURES = frozenset({"postgres_server", "pbx", "browser", "provd_server", "lan"})


# A test marks itself slow (@pytest.mark.slow, its reason beside it) when it is
# expensive by nature and the work loop can do without it; CI runs it all the same
# (scripts/test selects no marker). Such are a test that runs migrations itself, from an
# empty file or through an older release's schema (seconds each, where every other test
# copies migrated_db, made by the same upgrade once per run), and a scale test (10,000
# rows). A test that is merely slow is made faster instead.

# Every browser test drives Chromium; every PBX test but the pure units runs Kamailio.
_TESTS = Path(__file__).parent
_DAEMON_FOLDERS = (_TESTS / "browser", _TESTS / "pbx")
_PURE_IN_DAEMON_FOLDERS = frozenset({_TESTS / "pbx" / "test_units.py"})


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The quick tier does not import what it would only deselect: the browser folder
    and the PBX modules but the pure units (Playwright's API, the PBX harness, a few
    hundred tests to build and drop: half a second of each worker's start)."""
    if config.getoption("markexpr") != "not slow":
        return None
    if collection_path == _TESTS / "browser":
        return True
    in_pbx = collection_path.parent == _TESTS / "pbx" and collection_path.name.startswith("test_")
    return True if in_pbx and collection_path not in _PURE_IN_DAEMON_FOLDERS else None


def pytest_collection_finish() -> None:
    # What collection made (modules, classes, the test items: 300,000 objects) lives to
    # the end of the run. Frozen, it is left out of the cyclic collector's full passes,
    # which scanned it a dozen times a worker: 2-3 CPU-seconds, now under half that.
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        starts_one = (
            item.path.parent in _DAEMON_FOLDERS and item.path not in _PURE_IN_DAEMON_FOLDERS
        ) or _DAEMON_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if starts_one:
            item.add_marker(pytest.mark.slow)


def _schema_digest() -> str:
    """What the migrated schema depends on: the migrations, the models and the code that
    applies them (provd/db), tortoise's version and SQLite's."""
    import hashlib
    import sqlite3

    import tortoise

    import provd.db

    digest = hashlib.sha256(f"{tortoise.__version__} {sqlite3.sqlite_version}".encode())
    package = Path(provd.db.__file__).parent
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


def made_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]
) -> Path:
    """A directory that ``make`` fills once per run, for session fixtures to copy from.

    Under xdist the workers share the run's temporary root: the first to ask makes it
    there while the others wait on a lock, then all read it. Each worker making its own
    spent the seconds of a migration, and an init's RSA keys, once per worker. Nothing
    may write to it after ``make``: tests copy it."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        directory = tmp_path_factory.mktemp(name)
        make(directory)
        return directory
    root = tmp_path_factory.getbasetemp().parent
    directory, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not done.exists():
            shutil.rmtree(directory, ignore_errors=True)  # left by a worker whose make failed
            directory.mkdir(mode=0o700)  # as mktemp makes it
            make(directory)
            done.touch()
    return directory


@pytest.fixture(scope="session")
def migrated_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database with every migration applied, copied by each test: migrating a
    fresh SQLite file takes seconds, more than most tests. Made once per run, and kept in
    pytest's cache under a digest of what it depends on, so the work loop migrates again
    only after a change to those; a clean checkout (CI) migrates. tests/db migrate fresh
    files themselves."""
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    kept = cache.mkdir("provd-schema") / f"{_schema_digest()}.sqlite3" if cache else None

    def make(directory: Path) -> None:
        import asyncio

        if kept is not None:
            try:
                shutil.copy(kept, directory / "provd.sqlite3")
                return
            except FileNotFoundError:
                pass
        asyncio.run(upgrade_schema(db_url_for(directory)))
        if kept is not None:
            for older in kept.parent.glob("*.sqlite3"):
                older.unlink(missing_ok=True)
            # Another run may be writing the same file: each renames its own copy in.
            partial = kept.with_name(f"{kept.name}.{os.getpid()}")
            shutil.copy(directory / "provd.sqlite3", partial)
            partial.replace(kept)

    return made_once(tmp_path_factory, "schema", make) / "provd.sqlite3"


@pytest.fixture(scope="session")
def _initialised_template(
    tmp_path_factory: pytest.TempPathFactory, migrated_db: Path
) -> tuple[Path, dict[str, Any]]:
    from click.testing import CliRunner

    from provd.cli import cli

    def make(made: Path) -> None:
        # Over the migrated schema, so that init's own upgrade finds nothing to do: the
        # rest of init is as real (keys, certificates, rows, files and modes). Init of an
        # empty directory, migrations included, runs in every serve test (slow tier).
        directory = made / "data"
        directory.mkdir(mode=0o700)
        shutil.copy(migrated_db, directory / "provd.sqlite3")
        args = ["--data-dir", str(directory), "init", "--public-host", "provd.test", "--json"]
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        (made / "init.json").write_text(result.output)

    made = made_once(tmp_path_factory, "initialised", make)
    return made / "data", json.loads((made / "init.json").read_text())


InitDataDir = Callable[[Path], dict[str, Any]]


@pytest.fixture
def init_data_dir(_initialised_template: tuple[Path, dict[str, Any]]) -> InitDataDir:
    """``provd init --public-host provd.test --json`` at a directory of the test's choosing;
    returns what init printed. One init per session is copied: init costs seconds
    (migrations, two RSA keys), more than most CLI tests themselves. Every copy has the
    same keys, token and passwords, which no test compares."""
    template, info = _initialised_template

    def init(directory: Path) -> dict[str, Any]:
        shutil.copytree(template, directory)  # modes too: 0700 directory, 0600 keys
        return info | _paths(directory)

    return init


def _paths(directory: Path) -> dict[str, Any]:
    return {"data_dir": str(directory), "ca_certificate": str(directory / "ca.pem")}


Prepare = Callable[[Path, dict[str, Any]], None]
PreparedDataDir = Callable[[Path, Prepare], Path]


@pytest.fixture(scope="session")
def prepared_data_dir(
    tmp_path_factory: pytest.TempPathFactory, _initialised_template: tuple[Path, dict[str, Any]]
) -> PreparedDataDir:
    """``init_data_dir``, then ``prepare(directory, what init printed)`` (CLI commands that
    add what a module's tests start from), at a directory of the test's choosing. Each
    ``prepare`` runs once per session and is copied: a command costs tens of milliseconds
    (a migration check, two ORM starts), a copy a few, and most CLI tests start with several."""
    template, info = _initialised_template
    prepared: dict[Prepare, Path] = {}

    def copy(directory: Path, prepare: Prepare) -> Path:
        if prepare not in prepared:
            source = tmp_path_factory.mktemp("prepared") / "data"
            shutil.copytree(template, source)
            prepare(source, info | _paths(source))
            prepared[prepare] = source
        shutil.copytree(prepared[prepare], directory)
        return directory

    return copy


@pytest.fixture(scope="session")
def _platform_template(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> Path:
    """A data directory (settings, secret key, database) with the default tenant."""
    import asyncio

    def make(directory: Path) -> None:
        save_settings(directory, TEST_SETTINGS)
        shutil.copy(migrated_db, directory / "provd.sqlite3")

        async def add_default_tenant() -> None:
            async with database(db_url_for(directory)):
                p = Platform(directory, TEST_SETTINGS, SecretBox.load_or_create(directory))
                await tenants.add_tenant(p, TEST_ACTOR, tenants.DEFAULT_TENANT)

        asyncio.run(add_default_tenant())

    return made_once(tmp_path_factory, "platform", make)


PreparePlatform = Callable[[Platform], Awaitable[None]]
PreparedPlatform = Callable[[PreparePlatform], Path]


@pytest.fixture(scope="session")
def prepared_platform(
    tmp_path_factory: pytest.TempPathFactory, _platform_template: Path
) -> PreparedPlatform:
    """The platform's data directory after ``prepare(platform)`` (services adding what a
    module's tests start from), made once per session: for a module's
    ``platform_start``. Adding two tenants, their users and numbers took 30 ms of each
    test that started from them; a copy takes one."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    prepared: dict[PreparePlatform, Path] = {}

    async def run(directory: Path, prepare: PreparePlatform) -> None:
        async with database(db_url_for(directory)):
            await prepare(Platform(directory, TEST_SETTINGS, SecretBox.load_or_create(directory)))

    def template(prepare: PreparePlatform) -> Path:
        if prepare not in prepared:
            directory = tmp_path_factory.mktemp("prepared-platform")
            shutil.copytree(_platform_template, directory, dirs_exist_ok=True)
            # A thread of its own: the test's event loop may be set for this thread.
            with ThreadPoolExecutor(1) as thread:
                thread.submit(asyncio.run, run(directory, prepare)).result()
            prepared[prepare] = directory
        return prepared[prepare]

    return template


def starting_from(prepare: PreparePlatform) -> Any:
    """A module's ``platform_start`` (``platform_start = starting_from(prepare)``) when
    every test in it starts from what ``prepare`` adds."""

    @pytest.fixture
    def platform_start(prepared_platform: PreparedPlatform) -> Path:
        return prepared_platform(prepare)

    return platform_start


@pytest.fixture
def platform_start(_platform_template: Path) -> Path:
    """The data directory the platform fixture copies: the default tenant. A module whose
    every test starts from more says so with :func:`starting_from`."""
    return _platform_template


@pytest.fixture
async def platform(tmp_path: Path, platform_start: Path) -> AsyncIterator[Platform]:
    """A platform on its own data directory with the default tenant: a copy of one made
    per session (the tenant's rows and audit entry, its sealed bootstrap password), or of
    what the module's ``platform_start`` says."""
    shutil.copytree(platform_start, tmp_path, dirs_exist_ok=True)
    async with database(db_url_for(tmp_path)):
        yield Platform(tmp_path, TEST_SETTINGS, SecretBox.load_or_create(tmp_path))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server for the whole session (``postgres://postgres@127.0.0.1:PORT``)."""
    from tests.pg import postgres_cluster

    with postgres_cluster() as server:
        yield server
