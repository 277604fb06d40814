"""Reading archives and writing results, one record at a time (bounded memory).

Formats by extension: .csv, .tsv, .jsonl, .parquet, each optionally .gz (not parquet). CSV
encodings: UTF-8, UTF-8 with BOM, or cp1251 (common in Russian exports), detected from the first
block unless given; the delimiter is sniffed among `, ; \\t |` unless given. Problems that make a
whole file unusable (missing file, no `text` column, unknown extension) raise InputError before any
work; a problem with one record is yielded with the record so the caller can reject it.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

import orjson

from triage.errors import InputError

READ_FORMATS = (".csv", ".tsv", ".jsonl", ".parquet")
WRITE_FORMATS = (".jsonl", ".csv", ".parquet")
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class Record:
    line: int              # 1-based record number in the input, header excluded
    row: dict | None       # None when the record could not be parsed
    error: str | None = None


def file_format(path: Path, allowed: tuple[str, ...]) -> tuple[str, bool]:
    """(extension, gzipped) of `path`, or InputError naming what is supported."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    ext = suffixes[-2] if gz and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
    if ext not in allowed or (gz and ext == ".parquet"):
        raise InputError(f"{path}: unsupported format {''.join(path.suffixes) or '(none)'}; "
                         f"use one of {', '.join(allowed)} (optionally .gz, except .parquet)")
    return ext, gz


def _open_binary(path: Path, gz: bool) -> IO[bytes]:
    return gzip.open(path, "rb") if gz else open(path, "rb")


def detect_encoding(path: Path, gz: bool) -> str:
    with _open_binary(path, gz) as f:
        head = f.read(1 << 16)
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the block end is still UTF-8.
        if exc.start >= len(head) - 3:
            return "utf-8"
        return "cp1251"


def _text_stream(path: Path, gz: bool, encoding: str | None) -> IO[str]:
    enc = encoding or detect_encoding(path, gz)
    return io.TextIOWrapper(_open_binary(path, gz), encoding=enc, errors="strict", newline="")


def _require_text(columns, path: Path) -> None:
    if "text" not in columns:
        raise InputError(f"{path}: no 'text' column (found: {', '.join(map(str, columns)) or 'none'})")


def _jsonl_record(line_no: int, line: str) -> Record | None:
    """The record on one JSONL line; None for a blank line."""
    if not line.strip():
        return None
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return Record(line_no, None, f"not valid JSON: {exc.msg} at column {exc.colno}")
    return Record(line_no, row, None) if isinstance(row, dict) else Record(line_no, None, "not a JSON object")


def _not_text(path: Path, line_no: int, encoding: str | None, exc: UnicodeDecodeError) -> InputError:
    return InputError(f"{path}: line {line_no} is not {encoding or 'UTF-8'} text ({exc.reason}); pass --encoding")


def _read_jsonl(path: Path, gz: bool, encoding: str | None) -> Iterator[Record]:
    with _text_stream(path, gz, encoding) as f:
        line_no = 0
        while True:
            try:
                line = f.readline()
            except UnicodeDecodeError as exc:
                raise _not_text(path, line_no + 1, encoding, exc) from None
            if not line:
                return
            line_no += 1
            if (record := _jsonl_record(line_no, line)) is not None:
                yield record


def _line_breaks(data: bytes) -> int:
    """Line breaks as a text stream with newline="" sees them: \n, \r\n and a lone \r."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


@dataclass(frozen=True)
class JsonlBlock:
    """A byte range of a plain JSONL file that ends after a line break, with the number of its first
    line: a worker process reads and parses it on its own, so that records do not travel from the
    process that splits the file (it reads bytes and counts line breaks, nothing else)."""

    path: str
    start: int
    end: int
    first_line: int
    encoding: str
    skip_to: int = 0  # records at or before this line were done by an interrupted run

    def records(self) -> list[Record]:
        with open(self.path, "rb") as f:
            f.seek(self.start)
            data = f.read(self.end - self.start)
        try:
            text = data.decode(self.encoding)
        except UnicodeDecodeError as exc:
            line_no = self.first_line + _line_breaks(data[:exc.start])
            raise _not_text(Path(self.path), line_no, self.encoding, exc) from None
        lines = enumerate(io.StringIO(text, newline=""), self.first_line)
        return [r for n, line in lines if n > self.skip_to and (r := _jsonl_record(n, line)) is not None]


def jsonl_blocks(path: Path, encoding: str | None = None, size: int = 1 << 20,
                 skip_to: int = 0, first: int | None = None) -> Iterator[JsonlBlock]:
    """Blocks of about `size` bytes covering a plain (not gzipped) JSONL file; blocks wholly at or
    before line `skip_to` are left out. With `first`, blocks start at that size and double up to
    `size`."""
    encoding = encoding or detect_encoding(path, False)
    with open(path, "rb") as f:
        start, first_line = 0, 1
        for data in _whole_line_blocks(f, size, first):
            breaks = _line_breaks(data)
            if first_line + breaks > skip_to:
                yield JsonlBlock(str(path), start, start + len(data), first_line, encoding, skip_to)
            start += len(data)
            first_line += breaks


def _whole_line_blocks(f: IO[bytes], size: int, first: int | None = None) -> Iterator[bytes]:
    """A binary file in blocks of about `size` bytes (with `first`: starting at that size and doubling),
    each running up to and including the next \n, so that no line and no \r\n is cut; in UTF-8 or
    cp1251 no character holds a \n or \r byte."""
    block = min(first or size, size)
    while data := f.read(block):
        block = min(2 * block, size)
        yield data + f.readline()


def sniff_delimiter(path: Path, gz: bool, encoding: str | None, ext: str) -> str:
    """The header line's delimiter among , ; tab |; the extension's default when unclear."""
    with _text_stream(path, gz, encoding) as f:
        try:
            first = f.readline()
        except UnicodeDecodeError:
            first = ""
    try:
        return csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        return "\t" if ext == ".tsv" else ","


def _read_csv(path: Path, gz: bool, encoding: str | None, delimiter: str | None, ext: str) -> Iterator[Record]:
    delimiter = delimiter or sniff_delimiter(path, gz, encoding, ext)
    with _text_stream(path, gz, encoding) as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = next(reader, None)
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: the header is not {encoding or 'UTF-8'} text ({exc.reason}); pass --encoding") from None
        if header is None:
            raise InputError(f"{path}: the file is empty (no header row)")
        header = [h.strip() for h in header]
        _require_text(header, path)
        number = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                number += 1
                yield Record(number, None, f"unreadable CSV record: {exc}")
                continue
            if not fields or fields == [""]:
                continue
            number += 1
            if len(fields) != len(header):
                yield Record(number, None, f"record has {len(fields)} fields, the header has {len(header)}")
                continue
            yield Record(number, dict(zip(header, fields)), None)


def _read_parquet(path: Path) -> Iterator[Record]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    _require_text(pf.schema_arrow.names, path)
    number = 0
    for batch in pf.iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            number += 1
            yield Record(number, row, None)


def read_records(path: Path, encoding: str | None = None, delimiter: str | None = None) -> Iterator[Record]:
    """Stream the records of `path`. Raises InputError (before yielding) when the file is unusable."""
    path = Path(path)
    ext, gz = file_format(path, READ_FORMATS)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if ext == ".parquet":
        gen = _read_parquet(path)
    elif ext == ".jsonl":
        gen = _read_jsonl(path, gz, encoding)
    else:
        gen = _read_csv(path, gz, encoding, delimiter, ext)
    return gen


def column_values(path: Path, name: str, encoding: str | None = None, delimiter: str | None = None) -> Iterator:
    """The values of field `name` in the records that have it: a cheap pass for one column's
    statistics. Parquet reads only that column, CSV stops at a header without it, JSONL parses only
    the lines that mention it. Unreadable records are skipped here: the scoring pass reports them."""
    path = Path(path)
    ext, gz = file_format(path, READ_FORMATS)
    if ext == ".parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        if name in pf.schema_arrow.names:
            for batch in pf.iter_batches(batch_size=65536, columns=[name]):
                yield from batch.column(0).to_pylist()
    elif ext == ".jsonl":
        key = f'"{name}"'
        try:
            for line in _lines_mentioning(path, gz, encoding or detect_encoding(path, gz), key):
                row = _json_object(line)
                if row is not None and name in row:
                    yield row[name]
        except UnicodeDecodeError:
            return
    else:
        for record in _read_csv(path, gz, encoding, delimiter, ext):
            if record.row is not None:
                if name not in record.row:
                    return  # the header has no such column
                yield record.row[name]


def _lines_mentioning(path: Path, gz: bool, encoding: str, key: str, size: int = 1 << 20) -> Iterator[str]:
    """The lines of a text file that contain `key`. When the encoding writes ASCII as ASCII (UTF-8,
    cp1251), the file is searched as bytes and only those lines are decoded: a pass for a field
    that an archive lacks costs ~0.03 s per 100,000 complaints instead of ~0.2 s."""
    if codecs.lookup(encoding).name != "utf-8-sig" and key.encode(encoding) != key.encode("ascii"):
        with _text_stream(path, gz, encoding) as f:  # UTF-16 and the like
            yield from (line for line in f if key in line)
        return
    needle = key.encode("ascii")
    with _open_binary(path, gz) as f:
        for block in _whole_line_blocks(f, size):
            if needle in block:
                yield from (line.decode(encoding) for line in block.splitlines() if needle in line)


def _json_object(line: str) -> dict | None:
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return None
    return row if isinstance(row, dict) else None


def json_line(row: dict) -> bytes:
    """One JSONL line, UTF-8. orjson writes it ~5x faster than `json` (~3 vs ~15 us per scored row, a
    tenth of a batch worker's time outside the model); values it refuses (integers beyond 64 bits, say,
    in a passed-through id) fall back to `json`."""
    try:
        return orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")


def flat_row(row: dict) -> dict:
    """Nested values (dicts, lists) as JSON strings, for the flat formats (CSV, Parquet, data frames)."""
    return {k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v for k, v in row.items()}


def encode_rows(ext: str, rows: list[dict], fieldnames: list[str] | None = None) -> bytes | list[dict]:
    """`rows` ready for a file of format `ext`: JSONL or CSV as UTF-8 bytes, flat rows for Parquet. Pure,
    so that batch workers encode their own rows and send bytes, not dicts, back to the writing process.
    Bytes, not text: a str of scored rows mixes ASCII and Cyrillic, and decoding orjson's bytes, joining,
    pickling, unpickling and encoding it again for the file took ~0.5 s of CPU per 100,000 rows with
    workers (measured on the bench archive), ~0.15 s in one process. Lines are appended to one buffer as
    they come: joining a list of them (every line's bytes alive at once) measured 3.4 us per row in a
    scoring process, the buffer 1.8-2.2 us, decoding and joining text and encoding it 3.1-3.6 us."""
    if ext == ".jsonl":
        lines = bytearray()
        for row in rows:
            lines += json_line(row)
        return bytes(lines)
    if ext == ".csv":
        return _csv_bytes(rows, fieldnames or [])
    return list(map(flat_row, rows))


def _csv_bytes(rows: list[dict], fieldnames: list[str], header: bool = False) -> bytes:
    """CSV lines (\r\n ends, as the csv module writes them) of flat rows, UTF-8."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, extrasaction="ignore")
    if header:
        writer.writeheader()
    writer.writerows(map(flat_row, rows))
    return buffer.getvalue().encode("utf-8")


class AtomicWriter:
    """Writes rows to `path` through a temp file renamed into place on `commit()`, so an interrupted
    run never leaves a complete-looking file. `append_from` resumes from an existing partial temp file."""

    def __init__(self, path: Path, fieldnames: list[str] | None = None, resume: bool = False):
        self.path = Path(path)
        self.ext, _ = file_format(self.path, WRITE_FORMATS)
        self.tmp = self.path.with_name(self.path.name + ".partial")
        self.fieldnames = fieldnames
        self.count = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        mode = "a" if resume and self.tmp.exists() else "w"
        if self.ext == ".parquet":
            self._parts: list[dict] = []
            self._writer = None
        else:
            self._f = open(self.tmp, mode + "b")
            if self.ext == ".csv" and mode == "w":
                self._f.write(_csv_bytes([], fieldnames or [], header=True))

    def write_many(self, rows: list[dict]) -> None:
        self.write_encoded(encode_rows(self.ext, rows, self.fieldnames), len(rows))

    def write_encoded(self, payload: bytes | list[dict], count: int) -> None:
        """Write what `encode_rows` made of `count` rows for this file's format."""
        if self.ext == ".parquet":
            self._write_parquet(payload)
        else:
            self._f.write(payload)
        self.count += count

    def _write_parquet(self, flat: list[dict]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(flat, schema=self._writer.schema if self._writer else None)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.tmp, table.schema)
        self._writer.write_table(table)

    def flush(self) -> int:
        """Make everything written so far durable; returns the partial file's size in bytes."""
        self._f.flush()
        os.fsync(self._f.fileno())
        return self._f.tell()

    def truncate(self, size: int) -> None:
        """Cut the partial file back to `size` bytes: the end of the last complete chunk (resume)."""
        self._f.truncate(size)

    def commit(self) -> None:
        if self.ext == ".parquet" and self._writer is None:  # no rows: still a readable, empty file
            import pyarrow as pa
            import pyarrow.parquet as pq
            pq.write_table(pa.table({"id": pa.array([], pa.string())}), self.tmp)
        self.close()
        os.replace(self.tmp, self.path)

    def close(self) -> None:
        if self.ext == ".parquet":
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        elif not self._f.closed:
            self._f.close()


class PartsWriter:
    """A directory of parts (`part-00000.jsonl` or `.parquet`, by the directory name's extension),
    each written through AtomicWriter; the directory is complete when `_SUCCESS` exists."""

    def __init__(self, directory: Path, rows_per_part: int = 100_000):
        self.directory = Path(directory)
        ext, _ = file_format(self.directory, WRITE_FORMATS)
        self.ext = ".parquet" if ext == ".parquet" else ".jsonl"
        self.rows_per_part = rows_per_part
        self.directory.mkdir(parents=True, exist_ok=True)
        for old in self.directory.glob("part-*"):
            old.unlink()
        (self.directory / "_SUCCESS").unlink(missing_ok=True)
        self.count = 0
        self._part = None
        self._parts = 0

    def write_many(self, rows: list[dict]) -> None:
        self.write_encoded(encode_rows(self.ext, rows), len(rows))

    def write_encoded(self, payload: bytes | list[dict], count: int) -> None:
        if self._part is None:
            self._part = AtomicWriter(self.directory / f"part-{self._parts:05d}{self.ext}")
            self._parts += 1
        self._part.write_encoded(payload, count)
        self.count += count
        if self._part.count >= self.rows_per_part:
            self._part.commit()
            self._part = None

    def commit(self) -> None:
        if self._part is not None:
            self._part.commit()
        (self.directory / "_SUCCESS").write_text(str(self.count))
