"""The multi-host harness itself: hosts and workers on one database, each with its own data dir, and a killed one
that takes its children with it while the others go on."""

from __future__ import annotations


def test_hosts_and_workers_share_only_the_database(cluster, hosts, workers):
    first, second = hosts(2)
    worker_a, worker_b = workers(2)
    data_dirs = {process.data_dir for process in (first, second, worker_a, worker_b)}
    assert len(data_dirs) == 4
    for host in (first, second):
        assert host.get("/healthz").json()["status"] == "ok"

    first.kill()
    worker_a.kill()

    assert not first.running and not worker_a.running
    assert second.get("/healthz").status_code == 200
    assert worker_b.running
