"""Fixtures shared by every test: databases on each backend, the real CLI, a local arXiv, the shared data."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from paperboard.db import Database
from paperboard.db.engine import normalise_url
from paperboard.db.schema import upgrade
from paperboard.search import service as search_service
from paperboard.search.embedder import Embedder
from tests.arxiv_server import ArxivServer
from tests.network import free_port
from tests.smtp_server import SmtpServer

REPOSITORY = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("PAPERBOARD_SHARED_DATA", REPOSITORY.parent / "shared" / "data"))
# An administrative URL of a PostgreSQL server where tests may create and drop databases.
POSTGRES_URL = os.environ.get("PAPERBOARD_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("PAPERBOARD_TEST_REQUIRE_POSTGRES") == "1"
PASSWORD = "a long enough password"


def _postgres_admin() -> Engine:
    if not POSTGRES_URL:
        message = "PostgreSQL tests need PAPERBOARD_TEST_POSTGRES_URL (set by .ci/run)"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    return create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")


def _postgres_url(name: str) -> str:
    assert POSTGRES_URL
    return normalise_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


class _Dropper:
    """Drops this test process's PostgreSQL databases in a thread of its own. PostgreSQL 15 forces a checkpoint
    for every DROP DATABASE, a second or more on a busy machine, which a test would otherwise wait for at its
    teardown; the database is not used again (its name is never reused), so nothing waits for it to go."""

    def __init__(self) -> None:
        self._names: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._errors: list[str] = []

    def drop(self, name: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
            self._thread.start()
        self._names.put(name)

    def _run(self) -> None:
        admin = create_engine(normalise_url(POSTGRES_URL or ""), isolation_level="AUTOCOMMIT")
        while (name := self._names.get()) is not None:
            try:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception as error:
                # Kept for the end of the run (`databases_dropped`): the test that used the database has passed.
                self._errors.append(f"{name}: {error}")
        admin.dispose()

    def finish(self) -> list[str]:
        """Waits for the drops asked for; returns the ones that failed."""
        if self._thread is not None:
            self._names.put(None)
            self._thread.join()
            self._thread = None
        return self._errors


_dropper = _Dropper()


@pytest.fixture(scope="session", autouse=True)
def databases_dropped() -> Iterator[None]:
    """Waits, at the end of the run, for every test database to be dropped; a drop that failed is an error."""
    yield
    failures = _dropper.finish()
    assert not failures, f"test databases left on the server: {failures}"


def _postgres_database(template: str | None = None) -> Iterator[str]:
    """A new database on the test PostgreSQL server, empty or a copy of `template`, dropped after use."""
    admin = _postgres_admin()
    name = f"paperboard_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    try:
        yield _postgres_url(name)
    finally:
        _dropper.drop(name)


@pytest.fixture(scope="session")
def migrated_postgres_template() -> Iterator[str]:
    """The name of a PostgreSQL database migrated once per test process, which `database` copies for each test
    (`CREATE DATABASE ... TEMPLATE`, a tenth of a second, where the 16 migrations take more than one)."""
    for url in _postgres_database():
        migrated = Database(url)
        upgrade(migrated)
        # A template cannot be copied while anyone is connected to it.
        migrated.dispose()
        yield migrated.url.database or ""


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per test process, which `database` and `sqlite_database` copy for each test."""
    path = tmp_path_factory.mktemp("migrated") / "paperboard.sqlite3"
    migrated = Database(f"sqlite:///{path}")
    upgrade(migrated)
    # Closing the last connection moves the write-ahead log into the file: the file alone is the whole database.
    migrated.dispose()
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new database on each backend in turn: empty, or, for a test that also asks for `database` (which runs
    on it), a copy of one with the current schema."""
    migrated = "database" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "paperboard.sqlite3"
        if migrated:
            shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), path)
        yield f"sqlite:///{path}"
    else:
        template = request.getfixturevalue("migrated_postgres_template") if migrated else None
        yield from _postgres_database(template)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A database with the current schema, on each backend in turn. The tests of the migrations themselves
    (tests/db) run them on `database_url`, which is empty unless a test asks for this fixture."""
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path, migrated_sqlite_file: Path) -> Iterator[Database]:
    """A database with the current schema on SQLite only, for tests about something other than storage."""
    path = tmp_path / "paperboard.sqlite3"
    shutil.copyfile(migrated_sqlite_file, path)
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


class Cli:
    """The real `paperboard` command, run as a separate process with its own environment."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "paperboard", *args]

    def run(self, *args: str, timeout: float = 300, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args), env=self.env, capture_output=True, text=True, timeout=timeout, input=input
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_default_interrupt,
        )


def _default_interrupt() -> None:
    # A test suite started in the background of a non-interactive shell (`bash .ci/run &`) inherits SIGINT ignored,
    # and Python then never turns Ctrl-C into KeyboardInterrupt: tests that interrupt a command need it back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli_environment(data_dir: Path, database_url: str | None = None, **settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAPERBOARD_")}
    env["PAPERBOARD_DATA_DIR"] = str(data_dir)
    env["COLUMNS"] = "200"
    # No test may reach the real arXiv: the worker's scheduled harvest is off unless a test sets its hour.
    env["PAPERBOARD_HARVEST_HOUR"] = ""
    # Nor the real GitHub: the worker asks it for stars only in tests that set a local server and a number.
    env["PAPERBOARD_GITHUB_STARS_PER_RUN"] = "0"
    if database_url:
        env["PAPERBOARD_DATABASE_URL"] = database_url
    env.update({f"PAPERBOARD_{key.upper()}": value for key, value in settings.items()})
    return env


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The CLI on a fresh SQLite data folder."""
    return Cli(cli_environment(tmp_path / "data"))


@dataclass
class LiveServer:
    base_url: str
    cli: Cli
    data_dir: Path
    # With one worker, the process that serves the requests.
    process: subprocess.Popen[bytes]

    def url(self, path: str) -> str:
        return self.base_url + path

    def create_user(self, username: str, *, role: str = "user") -> None:
        flags = {"admin": ["--admin"], "moderator": ["--moderator"]}.get(role, [])
        result = self.cli.run("user", "create", username, *flags, "--password-stdin", input=PASSWORD + "\n")
        assert result.returncode == 0, result.stderr


@contextmanager
def serving(
    cli: Cli,
    data_dir: Path,
    *,
    workers: int = 1,
    options: tuple[str, ...] = (),
    migrated_sqlite: Path | None = None,
) -> Iterator[LiveServer]:
    """`paperboard serve` with the CLI's settings (and further `options`), in its own process, until the block ends.

    The database is made by `paperboard init`, or, for a site on the default SQLite file, copied from
    `migrated_sqlite` (the `migrated_sqlite_file` fixture), which saves starting a command."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if migrated_sqlite:
        assert "PAPERBOARD_DATABASE_URL" not in cli.env
        shutil.copyfile(migrated_sqlite, data_dir / "paperboard.sqlite3")
    else:
        assert cli.run("init").returncode == 0
    port = free_port()
    log_path = data_dir / "server.log"
    # The log goes to a file: an unread pipe would fill up with access lines and stall the server.
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            cli.command("serve", "--port", str(port), "--workers", str(workers), *options),
            env=cli.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        # Generous: on a busy machine (CI runs the suite one process per core) two workers may take half a minute.
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise AssertionError(f"the server did not start:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield LiveServer(base_url, cli, data_dir, server)
    finally:
        server.terminate()
        server.wait(timeout=15)


@pytest.fixture
def live_server(tmp_path: Path, migrated_sqlite_file: Path) -> Iterator[LiveServer]:
    """An initialised, empty Paperboard on SQLite, served by uvicorn in its own process."""
    cli = Cli(cli_environment(tmp_path / "data", arxiv_api_delay="0"))
    with serving(cli, tmp_path / "data", migrated_sqlite=migrated_sqlite_file) as server:
        yield server


@pytest.fixture
def arxiv_server() -> Iterator[ArxivServer]:
    """A local HTTP server that answers like arXiv, with the responses each test scripts."""
    with ArxivServer() as server:
        yield server


@pytest.fixture
def shared_data() -> Path:
    """The shared corpus folder; tests that need it are skipped, with the reason, where it is absent."""
    if not (SHARED_DATA / "papers.jsonl.gz").is_file():
        pytest.skip(f"the shared corpus is not at {SHARED_DATA} (set PAPERBOARD_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The packaged embedder, loaded once for the whole run."""
    return Embedder()


@pytest.fixture
def searches_see_changes_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Searchers look for catalogue changes at most once a second (`REFRESH_SECONDS`); tests that change the
    catalogue between searches need them to look every time."""
    monkeypatch.setattr(search_service, "REFRESH_SECONDS", 0)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback (aiosmtpd) that keeps and parses what it receives."""
    with SmtpServer() as server:
        yield server
