"""JSON Lines files in and out of the catalogue, streamed so that memory stays flat whatever the file size.

Reads, one paper per line, plain or gzip-compressed:
- Paperboard's own export format (written by `export_file`);
- the shared corpus format (`arxiv_id`, `title`, `abstract`, `authors`, `categories`, `published`, and
  optionally `github`; its `upvotes`/`comments` counts belong to daily listings and are not paper data);
- arXiv's bulk metadata snapshot, as published on Kaggle (`id`, `authors` as one string or `authors_parsed`,
  `categories` space-separated, `versions`, `journal-ref`, ...).
"""

from __future__ import annotations

import gzip
import io
import json
import multiprocessing
import os
import sys
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

from paperboard.catalog.queries import count_papers, iter_records
from paperboard.catalog.record import PaperRecord, RecordError, build_record, split_author_string
from paperboard.catalog.store import UpsertCounts, upsert_papers
from paperboard.db import Database
from paperboard.progress import Progress, SilentProgress

BATCH_SIZE = 2000
# Records written per transaction by `import_file`. An import's cost grows with the catalogue because each author
# row lands on a random page of the name index (and each paper on one of the date index), and a commit writes every
# page it changed: one transaction of many chunks changes far fewer pages than a transaction a chunk. At 2.8M papers,
# 200,000 more were written in 35.6 s at 50,000 a transaction (7.3 GB written), 43.9 s at 20,000 (14.5 GB), and
# 47 GB at 1.1M with a transaction a chunk. The cost: the write lock is held for up to about 10 s at a time, which
# web writes (a vote, a sign-in) wait out: their busy timeout is 30 s.
RECORDS_PER_TRANSACTION = 50_000
# What a line's JSON is read into: a paper record here, other shapes for other files of JSON Lines.
Parsed = TypeVar("Parsed")
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class BadLine:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class ImportReport:
    lines: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    bad_lines: list[BadLine] = field(default_factory=list)


def _authors(data: dict[str, Any]) -> Any:
    parsed = data.get("authors_parsed")
    # [surname, forenames, suffix] per author; a list of any other shape is set aside for `authors`.
    if (
        isinstance(parsed, list)
        and parsed
        and all(isinstance(name, list) and name and all(isinstance(part, str) for part in name) for name in parsed)
    ):
        return [" ".join(part for part in (*name[1:2], name[0], *name[2:3]) if part) for name in parsed]
    authors = data.get("authors", [])
    if isinstance(authors, str):
        return split_author_string(authors)
    if isinstance(authors, list):
        return [author.get("name") if isinstance(author, dict) else author for author in authors]
    return authors


def _versions(data: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(first published, last updated, version number) from a Kaggle-style `versions` list."""
    versions = data.get("versions")
    if not (isinstance(versions, list) and versions and all(isinstance(v, dict) for v in versions)):
        return None, None, None
    last = str(versions[-1].get("version", "")).lstrip("v")
    number = int(last) if last.isascii() and last.isdigit() else None
    return versions[0].get("created"), versions[-1].get("created"), number


def record_from_json(data: object) -> PaperRecord:
    """One decoded JSON line as a checked record; RecordError says what is wrong with it."""
    if not isinstance(data, dict):
        raise RecordError(f"expected a JSON object, got {type(data).__name__}")
    first_created, last_created, version_from_list = _versions(data)
    categories = data.get("categories", [])
    if isinstance(categories, str):
        categories = categories.split()
    comment = data.get("comment", data.get("comments"))
    links: dict[str, Any] = {}
    for name, aliases in (
        ("code_url", ("code_url", "github", "githubRepo")),
        ("project_url", ("project_url", "projectPage")),
    ):
        for alias in aliases:
            if alias in data:
                links[name] = data[alias]
                break
    return build_record(
        arxiv_id=data.get("arxiv_id", data.get("id")),
        title=data.get("title"),
        abstract=data.get("abstract", data.get("summary")),
        authors=_authors(data),
        categories=categories,
        published_at=data.get("published", data.get("published_at", first_created)),
        version=data.get("version", version_from_list),
        updated_at=data.get("updated", last_created),
        # The shared corpus uses `comments` for a count of discussion comments, not arXiv's comment field.
        comment=comment if isinstance(comment, str) else None,
        journal_ref=data.get("journal_ref", data.get("journal-ref")),
        doi=data.get("doi"),
        license=data.get("license"),
        deleted_at=data.get("deleted"),
        **links,
    )


def _format_time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


def record_to_json(record: PaperRecord) -> dict[str, Any]:
    """A record in Paperboard's export format; `record_from_json` reads it back to an equal record."""
    return {
        "arxiv_id": record.arxiv_id,
        "version": record.version,
        "title": record.title,
        "abstract": record.abstract,
        "authors": list(record.authors),
        "categories": list(record.categories),
        "published": _format_time(record.published_at),
        "updated": _format_time(record.updated_at),
        "comment": record.comment,
        "journal_ref": record.journal_ref,
        "doi": record.doi,
        "license": record.license,
        "code_url": record.code_url,
        "project_url": record.project_url,
        "deleted": _format_time(record.deleted_at),
    }


class UnreadableFile(Exception):
    """A file an import cannot read at all, as opposed to one with bad lines; the message says why."""


# Formats people download papers in that are not gzip: said by name rather than as lines of bad JSON.
_OTHER_FORMATS = {
    b"PK\x03\x04": "a zip archive",
    b"BZh": "bzip2-compressed",
    b"\xfd7zXZ\x00": "xz-compressed",
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
}
_MAX_FIRST_LINE = 1 << 20


def check_readable(path: Path) -> None:
    """Raise UnreadableFile when `path` cannot be JSON Lines at all: missing, a directory, another format."""
    if path.is_dir():
        raise UnreadableFile(f"{path} is a folder, not a file: name the files in it (for example {path}/*.jsonl.gz)")
    if not path.exists():
        raise UnreadableFile(f"{path}: no such file")
    try:
        with open(path, "rb") as raw:
            head = raw.read(8)
            raw.seek(0)
            first_line = raw.readline(_MAX_FIRST_LINE)
    except OSError as error:
        raise UnreadableFile(f"{path} cannot be read: {error.strerror}") from None
    if head.startswith(_GZIP_MAGIC):
        return
    expected = "JSON Lines, plain or gzip-compressed"
    for magic, kind in _OTHER_FORMATS.items():
        if head.startswith(magic):
            raise UnreadableFile(f"{path} is {kind}; Paperboard reads {expected}: unpack it first")
    if path.suffix == ".gz":
        # A plain file that was only named .gz still imports; anything else is not what its name promises.
        try:
            json.loads(first_line)
        except ValueError:
            raise UnreadableFile(
                f"{path} is not gzip-compressed though its name ends in .gz, and its first line is not JSON: "
                f"Paperboard reads {expected}"
            ) from None
    elif b"\x00" in first_line:
        raise UnreadableFile(f"{path} is not a text file; Paperboard reads {expected}")


def _open_lines(raw: io.BufferedReader) -> IO[bytes]:
    return gzip.GzipFile(fileobj=raw) if raw.peek(2)[:2] == _GZIP_MAGIC else raw


def line_chunks(path: Path, on_position: Callable[[int], None]) -> Iterator[tuple[int, list[bytes]]]:
    """(number of the first line, lines) in chunks; a damaged end becomes a last line that cannot parse."""
    with open(path, "rb", buffering=1 << 20) as raw:
        lines = _open_lines(raw)
        chunk: list[bytes] = []
        first = 1
        try:
            for line in lines:
                chunk.append(line)
                if len(chunk) == BATCH_SIZE:
                    yield first, chunk
                    on_position(raw.tell())
                    first += len(chunk)
                    chunk = []
        except (EOFError, gzip.BadGzipFile, OSError) as error:
            chunk.append(_DAMAGED_END + str(error).encode())
        yield first, chunk
        on_position(raw.tell())


_DAMAGED_END = b"\x00damaged end: "


def parse_lines(
    first: int, lines: list[bytes], parse: Callable[[object], Parsed]
) -> list[tuple[int, Parsed | RecordError]]:
    """(line number, what `parse` made of its JSON, or the error the line raised) for each non-blank line."""
    results: list[tuple[int, Parsed | RecordError]] = []
    for number, line in enumerate(lines, start=first):
        if line.startswith(_DAMAGED_END):
            message = line.removeprefix(_DAMAGED_END).decode()
            results.append((number, RecordError(f"the file ends early or is damaged ({message})")))
        elif line.strip():
            try:
                results.append((number, parse(json.loads(line))))
            except UnicodeDecodeError:
                results.append((number, RecordError("not valid UTF-8")))
            except json.JSONDecodeError as error:
                results.append((number, RecordError(f"bad JSON: {error.msg} at column {error.colno}")))
            except RecordError as error:
                results.append((number, error))
    return results


def _parsers() -> int:
    # Parsing is the slower half of an import; the writer needs a core of its own.
    return max(1, min(4, os.cpu_count() or 1))


def import_file(
    database: Database,
    path: Path,
    progress: Progress | None = None,
    on_bad_line: Callable[[BadLine], None] | None = None,
) -> ImportReport:
    """Store every good record of a JSON Lines file; bad lines are reported and skipped. Safe to repeat.
    UnreadableFile, before anything is stored, for a file that is not JSON Lines at all.

    Lines are parsed in worker processes while this one writes, `RECORDS_PER_TRANSACTION` records a transaction: a
    killed import keeps what it wrote, and running it again completes it.
    """
    check_readable(path)
    progress = progress or SilentProgress()
    report = ImportReport()

    waiting: list[PaperRecord] = []

    def write_waiting() -> None:
        if waiting:
            with database.bulk_session() as session:
                report.counts.add(upsert_papers(session, waiting))
            waiting.clear()

    def store(parsed: list[tuple[int, PaperRecord | RecordError]]) -> None:
        for number, result in parsed:
            if isinstance(result, RecordError):
                bad = BadLine(str(path), number, str(result))
                report.bad_lines.append(bad)
                if on_bad_line is not None:
                    on_bad_line(bad)
            else:
                waiting.append(result)
        if len(waiting) >= RECORDS_PER_TRANSACTION:
            write_waiting()
        report.lines = max(report.lines, parsed[-1][0]) if parsed else report.lines

    def on_position(position: int) -> None:
        progress.update(completed=position, items=report.counts.total)

    progress.start(f"Importing {path.name}", total=path.stat().st_size)
    workers = _parsers()
    # Keep every parser busy while the writer writes a transaction, and the writer behind them, without reading
    # the whole file ahead: parsers that ran dry during each write left the writer waiting after it.
    chunks_ahead = 2 * workers + RECORDS_PER_TRANSACTION // BATCH_SIZE
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        pending: deque[Future[list[tuple[int, PaperRecord | RecordError]]]] = deque()
        for first, lines in line_chunks(path, on_position):
            pending.append(pool.submit(parse_lines, first, lines, record_from_json))
            while len(pending) > chunks_ahead:
                store(pending.popleft().result())
        while pending:
            store(pending.popleft().result())
        write_waiting()
    on_position(path.stat().st_size)
    progress.finish()
    return report


@contextmanager
def _open_for_writing(path: Path | None) -> Iterator[IO[str]]:
    """Standard output for None; otherwise a temporary file beside `path`, renamed onto it only when complete."""
    if path is None:
        yield sys.stdout
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        with open(temporary, "xb") as raw:
            binary: IO[bytes] = raw
            if path.suffix == ".gz":
                # No name or time in the header, so that equal exports are equal files; level 6 rather than
                # gzip's default 9: nearly as small, about twice as fast.
                binary = gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=6, mtime=0)
            with io.TextIOWrapper(binary, encoding="utf-8", newline="\n") as text:
                yield text
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def export_file(database: Database, path: Path | None, progress: Progress | None = None) -> int:
    """Write every paper as JSON Lines (gzip when the name ends in .gz; standard output when None)."""
    progress = progress or SilentProgress()
    written = 0
    with database.read_session() as session, _open_for_writing(path) as out:
        progress.start("Exporting", total=count_papers(session, include_deleted=True))
        for record in iter_records(session):
            out.write(json.dumps(record_to_json(record), ensure_ascii=False) + "\n")
            written += 1
            if written % 1000 == 0:
                progress.update(completed=written, items=written)
        progress.update(completed=written, items=written)
    progress.finish()
    return written
