"""`./dev up`, the README's first command, run for real: the script itself, in a copy of the checkout whose .venv
runs this interpreter on this source (so that nothing is installed), with its server, worker and embedding
processes in a process group of their own."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import paperboard
from tests.catalog.test_jsonl import write_lines
from tests.cli.test_index import child_pids, ignores_sigint, records
from tests.conftest import cli_environment
from tests.network import free_port

REPOSITORY = Path(__file__).resolve().parents[1]
SOURCE = Path(paperboard.__file__).resolve().parents[1]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The script and pyproject.toml, with a .venv whose `python` and `paperboard` are this interpreter on SOURCE,
    stamped as installed the way `ensure_environment` stamps it (so `up` installs nothing)."""
    root = tmp_path / "checkout"
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy(REPOSITORY / "dev", root / "dev")
    shutil.copy(REPOSITORY / "pyproject.toml", root / "pyproject.toml")
    for name, command in (("python", f'"{sys.executable}"'), ("paperboard", f'"{sys.executable}" -m paperboard')):
        (bin_dir / name).write_text(f'#!/bin/sh\nPYTHONPATH="{SOURCE}" exec {command} "$@"\n')
        (bin_dir / name).chmod(0o755)
    digest = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()
    (root / ".venv" / ".installed").write_text(f"{digest} \n")
    return root


def dev_environment(root: Path, port: int) -> dict[str, str]:
    env = cli_environment(root / "data", embedding_processes="2")
    # The script's own default (./data in the checkout) is what is tested; so is the base URL it derives.
    del env["PAPERBOARD_DATA_DIR"]
    env["PORT"] = str(port)
    env.pop("HOST", None)
    return env


def group_members(group: int) -> list[int]:
    """The live processes of a process group, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while being read
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def command_line(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def paperboard_command(pid: int) -> str | None:
    """`serve` or `worker` for those `paperboard` processes, None for any other."""
    try:
        words = command_line(pid)
    except OSError:
        return None
    return next((word for word in ("serve", "worker") if word in words), None)


def worker_embedding(group: int) -> bool:
    """Whether the worker of the group has its embedding processes up (each ignoring SIGINT, left to the worker)."""
    worker = next((pid for pid in group_members(group) if paperboard_command(pid) == "worker"), None)
    if worker is None:
        return False
    embedders = child_pids(worker)
    try:
        return len(embedders) >= 2 and all(ignores_sigint(pid) for pid in embedders)
    except OSError:
        return False  # one ended while being read


def environment_of(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def wait_for(condition, what: str, up: subprocess.Popen[bytes], log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert up.poll() is None, f"./dev up ended before {what}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no {what} within {seconds} s:\n{log.read_text()}"
        time.sleep(0.2)


def serving(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def up_runs() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The `./dev up` runs a test starts; whatever of their groups is left at the end is killed."""
    runs: list[subprocess.Popen[bytes]] = []
    yield runs
    for run in runs:
        for pid in group_members(run.pid):
            os.kill(pid, signal.SIGKILL)
        run.wait(timeout=30)


def test_a_busy_port_fails_clearly_without_announcing_the_address(checkout, up_runs):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        log = checkout / "up.log"
        with open(log, "wb") as output:
            up = subprocess.Popen(
                [str(checkout / "dev"), "up"],
                env=dev_environment(checkout, port),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        up_runs.append(up)
        assert up.wait(timeout=120) == 1
    said = " ".join(log.read_text().split())
    assert f"error: port {port} on 127.0.0.1 is already in use" in said
    assert "Paperboard on" not in said
    assert "Traceback" not in said
    # The worker it had started beside the server was stopped, and waited for.
    assert group_members(up.pid) == []


def test_up_serves_on_port_with_a_base_url_to_match_and_ctrl_c_stops_every_process_quietly(checkout, up_runs):
    port = free_port()
    papers = write_lines(checkout / "papers.jsonl", records(3000))
    log = checkout / "up.log"
    with open(log, "wb") as output:
        up = subprocess.Popen(
            [str(checkout / "dev"), "up", str(papers)],
            env=dev_environment(checkout, port),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    up_runs.append(up)
    # Interrupted while its embedding processes are at work, the worker has the most to stop: enough papers that
    # they still are once the site answers.
    wait_for(lambda: worker_embedding(up.pid), "embedding processes", up, log)
    wait_for(lambda: serving(port), "answer on /healthz", up, log)
    assert f"Paperboard on http://127.0.0.1:{port}/" in log.read_text()
    served_by = {role: pid for pid in group_members(up.pid) if (role := paperboard_command(pid))}
    assert served_by.keys() == {"serve", "worker"}
    for pid in served_by.values():
        assert environment_of(pid)["PAPERBOARD_BASE_URL"] == f"http://127.0.0.1:{port}"
    # The worker logs plain lines rather than a bar: it shares the terminal with the server.
    assert environment_of(served_by["worker"]).get("TTY_INTERACTIVE") == "0"
    assert worker_embedding(up.pid)

    # What a terminal does on Ctrl-C: SIGINT to every process of the foreground group.
    os.killpg(up.pid, signal.SIGINT)
    up.wait(timeout=120)

    deadline = time.monotonic() + 10
    while group_members(up.pid):
        assert time.monotonic() < deadline, f"processes outlived ./dev up: {group_members(up.pid)}"
        time.sleep(0.1)
    said = log.read_text()
    assert "leaked semaphore" not in said, said
    assert "Traceback" not in said, said
