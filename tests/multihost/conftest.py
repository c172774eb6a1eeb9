"""Several web hosts and workers on one PostgreSQL database, as separate machines would run them.

Each `paperboard serve` and `paperboard worker` is the real command (the one the systemd units in deploy/ run), in a
process of its own with its OWN empty `PAPERBOARD_DATA_DIR`: nothing is shared between them but the database. Every
process is the leader of its own process group, so that killing one (`kill()`, SIGKILL, as a machine that dies) takes
its children with it (a worker's embedding processes), and so that teardown leaves nothing running.

    def test_something(hosts, workers, cluster):
        a, b = hosts(2)                                   # two web hosts, ready to answer
        first, second = workers(2, smtp_url=smtp.url)     # settings as keyword arguments: PAPERBOARD_SMTP_URL=...
        cluster.cli().run("import", "papers.jsonl")       # the CLI on a fresh data dir of its own
        first.kill()

Without PAPERBOARD_TEST_POSTGRES_URL the tests are skipped, saying why (they fail instead when
PAPERBOARD_TEST_REQUIRE_POSTGRES=1, as in .ci/run).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import make_url, text

from paperboard.db import Database
from paperboard.db.locks import _advisory_key
from tests.conftest import Cli, _postgres_database, cli_environment
from tests.network import free_port

# On a loaded machine (CI runs one test process per core) a server or a worker may take half a minute to come up.
START_SECONDS = 90.0
STOP_SECONDS = 15.0
# What every process of the cluster gets unless a test says otherwise: a worker that looks for work often, embeds
# with one process (two workers on a shared two-core machine), and builds an index as soon as it is behind.
BASE_SETTINGS = {
    "worker_poll_seconds": "0.5",
    "embedding_processes": "1",
    "search_rebuild_seconds": "0",
    "extract_keywords": "false",
}

P = TypeVar("P", bound="Process")


def serve_command(port: int, workers: int = 1) -> list[str]:
    """The arguments of `paperboard serve` for a host; deploy/paperboard-web.service passes the same options
    (tests/multihost/test_deploy.py checks it)."""
    return ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]


WORKER_COMMAND = ["worker"]


@dataclass
class Process:
    """One command of the cluster, with its own data dir and its log (stdout and stderr) in a file there."""

    name: str
    cli: Cli
    data_dir: Path
    process: subprocess.Popen[bytes]

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.name}.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the process and its children, as when its machine dies: nothing is cleaned up."""
        # The group outlives its leader while children are left: they are killed too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_SECONDS)

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it; SIGKILL if it is not gone within STOP_SECONDS."""
        if self.running:
            os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_SECONDS)
        # Whatever is left of it (a worker's embedding processes, one that did not stop in time).
        self.kill()


@dataclass
class Host(Process):
    """A `paperboard serve` on a free loopback port."""

    base_url: str = ""

    def url(self, path: str) -> str:
        return self.base_url + path

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.url(path), timeout=30, **kwargs)  # type: ignore[arg-type]


@dataclass
class Worker(Process):
    """A `paperboard worker`."""


@dataclass
class Cluster:
    """The database all processes share, and the processes started so far (stopped at teardown)."""

    database_url: str
    root: Path
    database: Database
    processes: list[Process] = field(default_factory=list)
    _count: int = 0

    def environment(self, data_dir: Path, settings: dict[str, str]) -> dict[str, str]:
        # The data dir's name as the connections' application_name: a test can tell from pg_stat_activity which
        # process holds a lock (`lock_holders`).
        url = make_url(self.database_url).update_query_dict({"application_name": data_dir.name})
        return cli_environment(data_dir, url.render_as_string(hide_password=False), **{**BASE_SETTINGS, **settings})

    def lock_holders(self, name: str) -> list[Process]:
        """The processes holding the `db.locks.exclusive_lock` named `name` (PostgreSQL advisory lock)."""
        key = _advisory_key(name) & 0xFFFFFFFFFFFFFFFF
        with self.database.read_session() as session:
            holders = set(
                session.scalars(
                    text(
                        "SELECT activity.application_name FROM pg_locks JOIN pg_stat_activity activity USING (pid) "
                        "WHERE locktype = 'advisory' AND granted AND classid::bigint = :high AND objid::bigint = :low"
                    ),
                    {"high": key >> 32, "low": key & 0xFFFFFFFF},
                )
            )
        return [process for process in self.processes if process.data_dir.name in holders]

    def cli(self, **settings: str) -> Cli:
        """The CLI on the shared database, with a fresh data dir of its own (a machine of its own)."""
        return Cli(self.environment(self._new_data_dir("cli"), settings))

    def start_hosts(self, count: int, *, workers: int = 1, **settings: str) -> list[Host]:
        """`count` servers, started together and each answering /healthz when this returns."""
        started = []
        for _ in range(count):
            port = free_port()
            started.append(self._start(Host, "host", serve_command(port, workers), settings))
            started[-1].base_url = f"http://127.0.0.1:{port}"
        for host in started:
            self._wait(host, lambda host=host: _answers(host))
        return started

    def start_workers(self, count: int, **settings: str) -> list[Worker]:
        """`count` workers, each past its start-up (it logged "worker started") when this returns."""
        started = [self._start(Worker, "worker", WORKER_COMMAND, settings) for _ in range(count)]
        for worker in started:
            self._wait(worker, lambda worker=worker: "worker started" in worker.log())
        return started

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()

    def _new_data_dir(self, kind: str) -> Path:
        self._count += 1
        data_dir = self.root / f"{kind}-{self._count}"
        data_dir.mkdir(parents=True)
        return data_dir

    def _start(self, kind: type[P], name: str, args: list[str], settings: dict[str, str]) -> P:
        data_dir = self._new_data_dir(name)
        cli = Cli(self.environment(data_dir, settings))
        # The log goes to a file: an unread pipe would fill up with access lines and stall the process.
        with open(data_dir / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                cli.command(*args), env=cli.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        started = kind(name=name, cli=cli, data_dir=data_dir, process=process)
        self.processes.append(started)
        return started

    def _wait(self, process: Process, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not ready():
            if not process.running or time.monotonic() > deadline:
                raise AssertionError(f"{process.name} in {process.data_dir} did not start:\n{process.log()}")
            time.sleep(0.2)


def wait_for(condition: Callable[[], object], seconds: float) -> float:
    """Seconds until `condition()` held (polled every 0.1 s); fails after `seconds`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(0.1)
    return time.monotonic() - started


def _answers(host: Host) -> bool:
    try:
        return httpx.get(host.url("/healthz"), timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def cluster_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database (skipped without PAPERBOARD_TEST_POSTGRES_URL, failed when it is required)."""
    yield from _postgres_database()


@pytest.fixture
def cluster(cluster_database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """The shared database, initialised with `paperboard init` (as an operator does once), and the processes the
    test starts, all stopped at teardown."""
    root = tmp_path / "cluster"
    root.mkdir()
    database = Database(cluster_database_url)
    cluster = Cluster(cluster_database_url, root, database)
    initialised = cluster.cli().run("init")
    assert initialised.returncode == 0, initialised.stderr
    try:
        yield cluster
    finally:
        cluster.stop_all()
        database.dispose()


@pytest.fixture
def hosts(cluster: Cluster) -> Callable[..., list[Host]]:
    """`hosts(count, workers=1, **settings)`: that many `paperboard serve`, each with its own empty data dir."""
    return cluster.start_hosts


@pytest.fixture
def workers(cluster: Cluster) -> Callable[..., list[Worker]]:
    """`workers(count, **settings)`: that many `paperboard worker`, each with its own empty data dir."""
    return cluster.start_workers
