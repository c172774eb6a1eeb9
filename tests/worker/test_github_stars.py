"""The worker's refresh of GitHub stars, against a local server that answers as GitHub's REST API does
(tests/github_server.py): every linked repository asked for (links from the archive and from abstracts alike), then
asked again with its ETag; the rate limit, primary and secondary, paused for and never hammered; the token sent as a
Bearer header and never logged; renamed and deleted repositories; and what readers then see, on SQLite and
PostgreSQL. The client's clock is the test's, so that pauses are checked without waiting them out."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import GithubRepository
from paperboard.github.refresh import StarsRefresh, github_client
from paperboard.web.app import create_app
from tests.community.factories import add_listing, add_paper
from tests.conftest import Cli, cli_environment
from tests.github_server import GithubServer

DAY = date(2025, 6, 4)
TOKEN = "github_pat_11AAexample0secret"
# Far from the real time, so that nothing passes by chance on the test's clock.
START = 1_900_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def github() -> Iterator[GithubServer]:
    with GithubServer(reset_at=int(START) + 3600) as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Refresh:
    """The worker's duty as `paperboard worker` builds it, on the local server and the test's clock."""

    def __init__(self, database: Database, github: GithubServer, clock: Clock, tmp_path: Path, **settings: Any) -> None:
        self.settings = Settings(
            data_dir=tmp_path / "data",
            github_api_url=github.base_url,
            # Every check is old by the next round: each round asks again whatever it may.
            **({"github_stars_max_age_hours": 1e-9} | settings),
        )
        self.client = github_client(self.settings, clock=clock)
        self.duty = StarsRefresh(database, self.settings, self.client)

    def run(self) -> Any:
        time.sleep(0.002)
        return self.duty.run_once()


@pytest.fixture
def refresh(database: Database, github: GithubServer, clock: Clock, tmp_path: Path) -> Iterator[Any]:
    made: list[Refresh] = []

    def refresh(**settings: Any) -> Refresh:
        made.append(Refresh(database, github, clock, tmp_path, **settings))
        return made[-1]

    yield refresh
    for each in made:
        each.client.close()


def api_stars(database: Database, tmp_path: Path, *arxiv_ids: str) -> list[int | None]:
    settings = Settings(database_url=database.url.render_as_string(hide_password=False), data_dir=tmp_path / "web")
    with TestClient(create_app(settings)) as client:
        return [client.get(f"/api/papers/{arxiv_id}").json()["githubStars"] for arxiv_id in arxiv_ids]


def day_page(database: Database, tmp_path: Path) -> str:
    settings = Settings(database_url=database.url.render_as_string(hide_password=False), data_dir=tmp_path / "web")
    with TestClient(create_app(settings)) as client:
        return client.get(f"/papers/date/{DAY.isoformat()}").text


def stored(database: Database) -> dict[str, tuple[str, int | None, str | None]]:
    with database.read_session() as session:
        rows = session.execute(
            select(GithubRepository.repo_key, GithubRepository.full_name, GithubRepository.stars, GithubRepository.etag)
        )
        return {key: (full_name, stars, etag) for key, full_name, stars, etag in rows}


def test_every_linked_repository_is_asked_for_then_asked_again_with_its_etag(database, github, refresh, tmp_path):
    archive = github.add("example/from-archive", 1234)
    github.add("Example/From-Abstract", 7)
    # The archive's link and its count, older than GitHub's.
    add_paper(database, "2506.00001", code_url="https://github.com/example/from-archive")
    add_listing(database, "2506.00001", DAY, github_stars=1000)
    # A link found in the abstract only, spelled in another case than GitHub's.
    add_paper(database, "2506.00002", abstract="Our code is at https://github.com/example/from-abstract.")
    add_listing(database, "2506.00002", DAY)
    # Not GitHub: never asked for.
    add_paper(database, "2506.00003", code_url="https://gitlab.com/example/elsewhere")

    # Pages show the archive's count, and asking for them asks GitHub nothing.
    assert api_stars(database, tmp_path, "2506.00001", "2506.00002") == [1000, None]
    assert github.requests == []

    duty = refresh(github_token=TOKEN)
    first = duty.run()

    assert (first.checked, first.fetched, first.stopped) == (2, 2, None)
    assert sorted(github.paths()) == ["/repos/example/from-abstract", "/repos/example/from-archive"]
    assert all(request.if_none_match is None for request in github.requests)
    assert api_stars(database, tmp_path, "2506.00001", "2506.00002") == [1234, 7]
    assert "★ 1,234" in day_page(database, tmp_path)

    # Asked again: with the ETag of each answer, and a 304 with a token costs nothing against the limit.
    etags = {full_name: etag for full_name, _, etag in stored(database).values()}
    remaining = github.remaining
    second = duty.run()

    assert (second.checked, second.unchanged) == (2, 2)
    assert {request.path: request.if_none_match for request in github.requests[2:]} == {
        "/repos/example/from-archive": etags["example/from-archive"],
        "/repos/Example/From-Abstract": etags["Example/From-Abstract"],
    }
    assert github.remaining == remaining

    # A new count is a new ETag: the next round stores it.
    archive.stars = 1300
    third = duty.run()

    assert (third.fetched, third.unchanged) == (1, 1)
    assert api_stars(database, tmp_path, "2506.00001") == [1300]


def test_without_a_token_304s_count_and_no_authorization_is_sent(database, github, refresh):
    github.add("example/code", 3)
    add_paper(database, "2506.00001", code_url="https://github.com/example/code")
    duty = refresh()

    duty.run()
    duty.run()

    assert [request.authorization for request in github.requests] == [None, None]
    assert github.remaining == github.limit - 2


def test_the_token_goes_as_a_bearer_header_and_never_into_the_log(database, github, refresh, caplog):
    github.add("example/code", 3)
    add_paper(database, "2506.00001", code_url="https://github.com/example/code")
    add_paper(database, "2506.00002", code_url="https://github.com/example/gone")
    duty = refresh(github_token=TOKEN)

    with caplog.at_level(logging.DEBUG):
        duty.run()
        github.secondary_limit = True
        duty.run()

    assert {request.authorization for request in github.requests} == {f"Bearer {TOKEN}"}
    assert "GitHub stars: 2 repositories checked" in caplog.text
    assert "stopped: GitHub's rate limit (answer 403)" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(duty.settings) and TOKEN not in str(duty.settings.model_dump())


def test_a_used_up_rate_limit_pauses_until_its_reset(database, github, refresh, clock):
    for number in range(1, 4):
        github.add(f"example/code-{number}", number)
        add_paper(database, f"2506.0000{number}", code_url=f"https://github.com/example/code-{number}")
    reset = int(START) + 600
    github.start_window(limit=2, reset_at=reset)
    duty = refresh(github_token=TOKEN)

    first = duty.run()

    # The second answer said none remain: the third repository waits for the reset.
    assert first.checked == 2 and "rate limit" in (first.stopped or "")
    assert len(github.requests) == 2

    clock.now = reset - 1
    assert duty.run().checked == 0
    assert len(github.requests) == 2

    clock.now = reset + 1
    github.start_window(limit=60, reset_at=reset + 3600)
    third = duty.run()

    assert github.paths()[2] == "/repos/example/code-3"
    assert third.checked == 3 and third.stopped is None


def test_a_refusal_for_the_rate_limit_is_waited_out_until_the_reset(database, github, refresh, clock):
    github.add("example/code", 3)
    add_paper(database, "2506.00001", code_url="https://github.com/example/code")
    reset = int(START) + 900
    github.start_window(limit=0, reset_at=reset)
    duty = refresh()

    assert duty.run().checked == 0
    clock.now = reset - 1
    duty.run()

    assert len(github.requests) == 1
    clock.now = reset
    github.start_window(limit=60, reset_at=reset + 3600)
    assert duty.run().checked == 1


def test_a_secondary_limit_waits_its_retry_after(database, github, refresh, clock):
    github.add("example/code", 3)
    add_paper(database, "2506.00001", code_url="https://github.com/example/code")
    add_paper(database, "2506.00002", code_url="https://github.com/example/more")
    github.secondary_limit, github.secondary_retry_after = True, 120
    duty = refresh()

    assert duty.run().checked == 0
    clock.now += 119
    duty.run()

    assert len(github.requests) == 1
    clock.now += 2
    github.secondary_limit = False
    assert duty.run().checked == 2


def test_a_secondary_limit_without_retry_after_waits_a_minute_then_longer(database, github, refresh, clock):
    add_paper(database, "2506.00001", code_url="https://github.com/example/code")
    github.secondary_limit = True
    duty = refresh()
    asked_at: list[float] = []

    for _ in range(200):
        before = len(github.requests)
        duty.run()
        if len(github.requests) > before:
            asked_at.append(clock.now - START)
        clock.now += 1

    # A minute after the first refusal, then two, then four.
    assert asked_at == [0, 60, 180]


def test_a_renamed_repository_is_followed_then_asked_for_by_its_new_name(database, github, refresh, tmp_path):
    repository = github.add("old-owner/old-name", 50)
    add_paper(database, "2506.00001", code_url="https://github.com/old-owner/old-name")
    duty = refresh(github_token=TOKEN)
    # Known under its old name, with an ETag, before it was renamed.
    duty.run()
    github.rename(repository, "new-owner/new-name")
    repository.stars = 51

    duty.run()

    assert github.paths()[1:] == ["/repos/old-owner/old-name", "/repositories/1"]
    # The old ETag goes with the old address only.
    assert github.requests[1].if_none_match is not None and github.requests[2].if_none_match is None
    assert stored(database)["old-owner/old-name"][:2] == ("new-owner/new-name", 51)
    assert api_stars(database, tmp_path, "2506.00001") == [51]

    third = duty.run()

    assert github.paths()[3:] == ["/repos/new-owner/new-name"]
    assert third.unchanged == 1


def test_a_deleted_repository_shows_no_stars(database, github, refresh, tmp_path):
    repository = github.add("example/code", 20)
    add_paper(database, "2506.00001", code_url="https://github.com/example/code")
    add_listing(database, "2506.00001", DAY, github_stars=18)
    duty = refresh()
    duty.run()
    github.delete(repository)

    report = duty.run()

    assert report.gone == 1
    assert api_stars(database, tmp_path, "2506.00001") == [None]
    page = day_page(database, tmp_path)
    assert "https://github.com/example/code" in page and "★" not in page


def test_checks_are_bounded_per_round_and_the_oldest_goes_first(database, github, refresh):
    for number in range(1, 4):
        github.add(f"example/code-{number}", number)
        add_paper(database, f"2506.0000{number}", code_url=f"https://github.com/example/code-{number}")
    duty = refresh(github_stars_per_run=2)

    rounds = []
    for _ in range(3):
        before = len(github.requests)
        duty.run()
        rounds.append([path.rsplit("-", 1)[1] for path in github.paths()[before:]])

    # Never checked first, then the oldest check.
    assert rounds == [["1", "2"], ["3", "1"], ["2", "3"]]


def test_repositories_are_not_asked_again_before_their_age(database, github, refresh):
    github.add("example/code", 3)
    add_paper(database, "2506.00001", code_url="https://github.com/example/code")
    duty = refresh(github_stars_max_age_hours=24)

    duty.run()
    # Linked by a paper added since: only it is new.
    add_paper(database, "2506.00002", code_url="https://github.com/example/other")
    duty.run()

    assert github.paths() == ["/repos/example/code", "/repos/example/other"]


def test_a_redirect_to_another_site_is_not_followed(database, github, refresh):
    repository = github.add("example/code", 3)
    add_paper(database, "2506.00001", code_url="https://github.com/example/code")
    github.rename(repository, "example/renamed")
    # A Location on another host: the token must not go there.
    github.redirect_base = "http://localhost:9"
    duty = refresh(github_token=TOKEN)

    report = duty.run()

    assert report.checked == 0
    assert report.stopped == "GitHub sent example/code to another site (http://localhost:9); not followed"
    assert github.paths() == ["/repos/example/code"]


def test_the_worker_refreshes_stars_each_round(tmp_path, github):
    cli = Cli(
        cli_environment(
            tmp_path / "data",
            github_api_url=github.base_url,
            github_token=TOKEN,
            github_stars_per_run="10",
        )
    )
    assert cli.run("init").returncode == 0
    database = Database(f"sqlite:///{tmp_path / 'data' / 'paperboard.sqlite3'}")
    github.add("example/code", 42)
    add_paper(database, "2506.00001", code_url="https://github.com/example/code")

    result = cli.run("worker", "--once", timeout=600)

    assert result.returncode == 0, result.stderr
    assert "GitHub stars: 1 repositories checked (1 answered, 0 unchanged, 0 gone)" in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert [request.authorization for request in github.requests] == [f"Bearer {TOKEN}"]
    assert stored(database)["example/code"][1] == 42
    database.dispose()
