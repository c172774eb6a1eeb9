"""Output shared by the commands: Rich consoles, progress bars, and turning known failures into messages."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from sqlalchemy.exc import OperationalError

from paperboard.config import ConfigurationError, Settings, load_settings
from paperboard.db import Database, UnsupportedDatabaseError
from paperboard.db.schema import current_revision, head_revision
from paperboard.progress import LoggingProgress
from paperboard.progress import Progress as ProgressReporter

out = Console()
err = Console(stderr=True)


class Failure(Exception):
    """A failure with a message for the user; the command exits with `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@contextmanager
def reported_failures() -> Iterator[None]:
    """Print known failures as one line on standard error instead of a traceback."""
    try:
        yield
    except Failure as failure:
        err.print(f"[red]error:[/] {escape(str(failure))}", highlight=False, soft_wrap=True)
        raise typer.Exit(failure.code) from None
    except (ConfigurationError, UnsupportedDatabaseError) as error:
        err.print(f"[red]configuration error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except OperationalError as error:
        err.print(f"[red]database error:[/] {escape(str(error.orig))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None


def settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as error:
        raise Failure(str(error), code=2) from None


def open_database(settings: Settings, *, require_schema: bool = True) -> Database:
    database = Database(settings.resolved_database_url)
    if require_schema:
        current = current_revision(database)
        if current != head_revision():
            state = "has no schema yet" if current is None else f"is at schema {current}, not {head_revision()}"
            raise Failure(f"the database {database.url.render_as_string()} {state}: run `paperboard init`")
    return database


class _ItemRate(ProgressColumn):
    """Items (papers, mails …) per second, whatever unit the bar itself counts in."""

    def render(self, task: Task) -> Text:
        items = task.fields.get("items", 0)
        elapsed = task.elapsed or 0
        rate = items / elapsed if elapsed > 0 else 0
        return Text(f"{items:,} {task.fields.get('unit', 'papers')}, {rate:,.0f}/s", style="progress.data.speed")


class RichProgress:
    """A progress bar with counts, rate and ETA on the terminal."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            _ItemRate(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task: int | None = None

    def start(self, description: str, total: int | None = None, *, unit: str = "papers") -> None:
        self._progress.start()
        self._task = self._progress.add_task(description, total=total, items=0, unit=unit)

    def update(self, *, completed: int | None = None, items: int | None = None, total: int | None = None) -> None:
        if self._task is None:
            return
        fields = {} if items is None else {"items": items}
        self._progress.update(self._task, completed=completed, total=total, **fields)

    def finish(self) -> None:
        self._progress.stop()


def progress_reporter() -> ProgressReporter:
    """Bars on an interactive terminal; log lines otherwise (cron, CI, a pipe)."""
    if err.is_terminal:
        return RichProgress(err)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    # httpx logs every request at INFO; a harvest's own progress lines say enough.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return LoggingProgress(logging.getLogger("paperboard"))
