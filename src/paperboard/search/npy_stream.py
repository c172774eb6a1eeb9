"""NumPy `.npy` files written and read a slice at a time, so that an index build never holds a whole matrix.

The files are ordinary `.npy` files (`np.load` reads them, memory-mapped or not). Slices are read with plain file
reads rather than through a memory map: a map's pages, once touched, stay in the process's resident memory until it
is unmapped, and a build reads files of several GiB.
"""

from __future__ import annotations

import struct
from pathlib import Path
from types import TracebackType

import numpy as np

# Version 1.0 header of a fixed size (numpy pads its own headers with spaces too), so that it can be written before
# the number of rows is known and rewritten in place afterwards.
_MAGIC = b"\x93NUMPY\x01\x00"
HEADER_BYTES = 128


def _header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    text = f"{{'descr': {np.lib.format.dtype_to_descr(dtype)!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    room = HEADER_BYTES - len(_MAGIC) - 2
    if len(text) + 1 > room:
        raise ValueError(f"shape {shape} does not fit in a {HEADER_BYTES}-byte header")
    return _MAGIC + struct.pack("<H", room) + (text.ljust(room - 1) + "\n").encode("latin1")


class NpyAppender:
    """An `.npy` file of rows (of `row_shape`) appended in slices; the header gets its row count on `close`."""

    def __init__(
        self, path: Path, dtype: type | np.dtype, row_shape: tuple[int, ...] = (), *, extend: bool = False
    ) -> None:
        """A new file at `path`, or with `extend` the rows of the file there (one written by an `NpyAppender`, of
        this dtype and row shape; ValueError otherwise) followed by those appended."""
        self.path = path
        self.dtype = np.dtype(dtype)
        self.row_shape = row_shape
        self.rows = 0
        if not extend:
            self._file = path.open("wb")
            self._file.write(_header(self.dtype, (0, *row_shape)))
            return
        self._file = path.open("r+b")
        try:
            header = self._file.read(HEADER_BYTES)
            self.rows = row_count(path)
            if header != _header(self.dtype, (self.rows, *row_shape)):
                raise ValueError(f"{path} is not a file of rows of {self.dtype} and shape {row_shape}")
            expected = HEADER_BYTES + self.rows * int(np.prod(row_shape, dtype=np.int64)) * self.dtype.itemsize
            if self._file.seek(0, 2) != expected:
                raise ValueError(f"{path} does not hold the {self.rows} rows its header says")
        except BaseException:
            self._file.close()
            raise

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        if rows.shape[1:] != self.row_shape:
            raise ValueError(f"rows of shape {rows.shape[1:]} appended to a file of rows of shape {self.row_shape}")
        self._file.write(rows.tobytes())
        self.rows += len(rows)

    def close(self) -> None:
        if self._file.closed:
            return
        self._file.seek(0)
        self._file.write(_header(self.dtype, (self.rows, *self.row_shape)))
        self._file.close()

    def __enter__(self) -> NpyAppender:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def read_rows(path: Path, start: int, stop: int) -> np.ndarray:
    """Rows `start` to `stop` (exclusive) of an `.npy` file, read into memory of their own."""
    with path.open("rb") as stream:
        version = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(stream)
        stop = min(stop, shape[0])
        row_items = int(np.prod(shape[1:], dtype=np.int64))
        stream.seek(stream.tell() + max(start, 0) * row_items * dtype.itemsize)
        count = max(stop - start, 0) * row_items
        return np.fromfile(stream, dtype=dtype, count=count).reshape(max(stop - start, 0), *shape[1:])


def row_count(path: Path) -> int:
    return int(np.load(path, mmap_mode="r").shape[0])
