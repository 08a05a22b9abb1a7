"""Reading a CSV file safely and in bounded memory: encoding, header, streamed batches.

Files arrive in every shape: an HTML error page saved as .csv, a JSON error body, a BOM, a
Windows code page, a truncated last line. Each of these becomes a SourceError that names the
file, the line and the problem.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contractwatch.sources.base import SourceError

CHUNK = 1 << 20
BATCH_BYTES = 4 << 20  # larger blocks raise peak memory (read-ahead), not speed
MAX_FIELD = 1 << 20  # 1 MiB: a longer field is a broken file, not a description


@dataclass
class FileFacts:
    sha256: str
    size: int
    encoding: str  # utf-8 | utf-8-sig | cp1252
    header: list[str]
    delimiter: str


def inspect_file(path: Path, label: str) -> FileFacts:
    """The header and a first guess at the encoding, from the file's first mebibyte.

    The checksum (`file_sha256`) is a separate pass so that it can run beside the load. A
    file that turns out not to be UTF-8 further on is read again as cp1252 (`NotUtf8`).
    """
    size = path.stat().st_size
    if size == 0:
        raise SourceError(label, None, "empty file (0 bytes)")
    with open(path, "rb") as fh:
        sample = fh.read(CHUNK)
    head = sample[:4096]
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) == size)
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # FF FE 00 00: not UTF-16
        raise SourceError(label, 1, "file is UTF-32; save it as UTF-8 CSV")
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        raise SourceError(label, 1, "file is UTF-16; save it as UTF-8 CSV")
    if head.startswith(b"\x1f\x8b"):
        raise SourceError(label, 1, "this is a gzip-compressed file, not CSV; unpack it first")
    if b"\x00" in head:  # the line of the first one (a spreadsheet's is line 1)
        raise SourceError(label, head.count(b"\n", 0, head.index(b"\x00")) + 1,
                          "binary data (NUL bytes), not CSV text (a spreadsheet?)")
    encoding = ("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8") if utf8 \
        else "cp1252"
    text = head.decode(**text_options(encoding)).lstrip("\ufeff")
    stripped = text.lstrip()
    if not stripped:
        raise SourceError(label, 1, "file holds only blank space")
    lowered = stripped[:200].lower()
    # a page starts with markup; "<html" further on may be a cell's text (a description)
    if lowered.startswith("<") and (
            lowered.startswith(("<!doctype", "<html", "<?xml", "<head", "<body"))
            or "<html" in lowered):
        raise SourceError(label, 1, "this is an HTML page, not CSV (an error page saved as .csv?)")
    if stripped[0] in "{[":
        raise SourceError(label, 1, "this is JSON, not CSV (an API error body saved as .csv?)")
    first_line = _first_record(path, encoding)
    delimiter = _delimiter(first_line)
    header = next(csv.reader([first_line], delimiter=delimiter))
    header = [h.strip() for h in header]
    if len(header) < 2:
        raise SourceError(label, 1, f"header has {len(header)} column; is this a CSV file?")
    seen: set[str] = set()
    for h in header:
        if not h:
            raise SourceError(label, 1, "header has an empty column name")
        if h in seen:
            raise SourceError(label, 1, f"header repeats the column {h!r}")
        seen.add(h)
    return FileFacts("", size, encoding, header, delimiter)


def file_sha256(path: Path) -> str:
    """The file's SHA-256 (hashlib releases the interpreter lock, so a thread can run it)."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)  # one buffer, refilled: no fresh pages per read
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest()


class NotUtf8(Exception):
    """The file stopped being valid UTF-8 after its first mebibyte: read it as cp1252."""


# ---- files that are not UTF-8 throughout ---------------------------------------------------
# One Windows-1252 byte must not turn every valid UTF-8 name into mojibake ("CAFÉ" into
# "CAFÃ‰"): a file that is not UTF-8 throughout is read as UTF-8 wherever its bytes are UTF-8,
# and only the bytes that are not are read as Windows-1252 ("cp1252" in FileFacts.encoding).

class UndecodableByte(Exception):
    """A byte that is neither UTF-8 nor Windows-1252 (0x81, 0x8D, 0x8F, 0x90, 0x9D)."""

    def __init__(self, byte: int, offset: int):
        super().__init__(f"byte 0x{byte:02X} is neither UTF-8 nor Windows-1252 text")
        self.offset = offset


def _utf8_else_cp1252(exc: UnicodeError) -> tuple[str, int]:
    assert isinstance(exc, UnicodeDecodeError)
    bad = exc.object[exc.start:exc.end]
    try:
        return bytes(bad).decode("cp1252"), exc.end
    except UnicodeDecodeError:
        pos = next(i for i, b in enumerate(bad) if b in _CP1252_HOLES)
        raise UndecodableByte(bad[pos], exc.start + pos) from None


def _utf8_else_cp1252_or_replace(exc: UnicodeError) -> tuple[str, int]:
    try:
        return _utf8_else_cp1252(exc)
    except UndecodableByte:
        assert isinstance(exc, UnicodeDecodeError)
        return "\ufffd" * (exc.end - exc.start), exc.end


_CP1252_HOLES = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
codecs.register_error("contractwatch-cp1252", _utf8_else_cp1252)
codecs.register_error("contractwatch-cp1252-replace", _utf8_else_cp1252_or_replace)


def text_options(encoding: str) -> dict[str, str]:
    """`encoding` and `errors` to read text of this FileFacts encoding for messages (bytes
    that fit no encoding are replaced)."""
    if encoding == "cp1252":
        return {"encoding": "utf-8", "errors": "contractwatch-cp1252-replace"}
    return {"encoding": encoding, "errors": "replace"}


# Characters a Windows-1252 file can hold (Latin scripts, general punctuation, € and ™). In a
# file that is not UTF-8 throughout, bytes that happen to form valid UTF-8 for anything else
# ("Ü’" is DC 92 in cp1252, which UTF-8 reads as a Syriac letter) were meant as cp1252.
_UNLIKELY = re.compile("[^\x00-\u024f\u02c6\u02dc\u2000-\u206f\u20ac\u2122]")


def _cp1252_where_unlikely(text: str, block: bytes) -> str:
    """Read as cp1252 the lines whose UTF-8 reading holds unlikely characters (a line of
    text and a line of bytes correspond: a line break is one byte in both encodings)."""
    lines, raw = text.split("\n"), block.split(b"\n")
    for i, line in enumerate(lines):
        if _UNLIKELY.search(line):
            with contextlib.suppress(UnicodeDecodeError):
                lines[i] = raw[i].decode("cp1252")
    return "\n".join(lines)


class Utf8Stream(io.RawIOBase):
    """A file that is UTF-8 in places and Windows-1252 in others, read as UTF-8 bytes.

    Decoded a block at a time, each block ending at a line break (no character spans one),
    so valid UTF-8 takes the codec's fast path. A byte that fits neither encoding stops the
    read with the file and the line.
    """

    def __init__(self, path: Path, label: str):
        self.raw = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.label = label
        self.lines = 0  # line breaks before the current block
        self.pending = b""
        self.out = b""
        self.at = 0

    def readable(self) -> bool:
        return True

    def _block(self) -> bytes:
        """The next run of whole lines (the rest, at the end of the file) as UTF-8."""
        data = self.pending
        while True:
            more = self.raw.read(CHUNK)
            data += more
            cut = data.rfind(b"\n") + 1 if more else len(data)
            if cut or not more:
                break
        block, self.pending = data[:cut], data[cut:]
        try:
            text = block.decode("utf-8", errors="contractwatch-cp1252")
        except UndecodableByte as exc:
            line = self.lines + block.count(b"\n", 0, exc.offset) + 1
            raise SourceError(self.label, line, str(exc)) from None
        if _UNLIKELY.search(text):
            text = _cp1252_where_unlikely(text, block)
        self.lines += block.count(b"\n")
        return text.encode("utf-8")


    def readinto(self, buffer: Any) -> int:
        if self.at >= len(self.out):
            self.out, self.at = self._block(), 0
            if not self.out:
                return 0
        n = min(len(buffer), len(self.out) - self.at)
        buffer[:n] = self.out[self.at:self.at + n]
        self.at += n
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def _first_record(path: Path, encoding: str) -> str:
    with open(path, **text_options(encoding), newline="") as fh:
        line = fh.readline(1 << 20)
    return line.lstrip("\ufeff").rstrip("\r\n")


def _delimiter(line: str) -> str:
    """Comma, unless the header clearly uses tabs, semicolons or pipes."""
    counts = {d: line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return "," if counts[","] >= 1 and best != "," and counts[best] <= counts[","] else best


def read_batches(path: Path, facts: FileFacts, label: str,
                 columns: list[str] | None = None) -> Iterator[Any]:
    """Stream record batches, every column as text, each with a 1-based `source_row`.

    `columns` limits conversion to the columns a layout reads (the 2018 layout has 258).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    problems: list[str] = []

    def on_invalid(row: Any) -> str:
        problems.append(
            f"expected {row.expected_columns} fields, found {row.actual_columns}"
        )
        return "error"

    read = pacsv.ReadOptions(
        block_size=BATCH_BYTES, use_threads=True, encoding="utf8",
        column_names=facts.header, skip_rows=1,
    )
    parse = pacsv.ParseOptions(delimiter=facts.delimiter, newlines_in_values=True,
                               invalid_row_handler=on_invalid)
    convert = pacsv.ConvertOptions(
        column_types={h: pa.string() for h in facts.header},
        strings_can_be_null=False, quoted_strings_can_be_null=False,
        include_columns=columns,
    )
    offset = 0
    try:
        source: Any = path if facts.encoding != "cp1252" else pa.PythonFile(
            Utf8Stream(path, label), mode="r")
        reader = pacsv.open_csv(source, read_options=read, parse_options=parse,
                                convert_options=convert)
        for batch in reader:
            n = batch.num_rows
            if n == 0:
                continue
            rows = pa.array(np.arange(offset + 1, offset + n + 1, dtype=np.int64))
            offset += n
            yield pa.RecordBatch.from_arrays(
                list(batch.columns) + [rows], names=list(batch.schema.names) + ["source_row"]
            )
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        if "UTF8" in str(exc) and facts.encoding.startswith("utf-8"):
            raise NotUtf8(str(exc)) from None
        line, problem = locate_problem(path, facts, label)
        if line is None:
            problem = (problems[0] if problems else str(exc).splitlines()[0])
        raise SourceError(label, line, problem) from None


def locate_problem(path: Path, facts: FileFacts, label: str) -> tuple[int | None, str]:
    """Slow path after a parse failure: find the first bad line with the csv module."""
    width = len(facts.header)
    csv.field_size_limit(MAX_FIELD * 4)
    with open(path, **text_options(facts.encoding), newline="") as fh:
        reader = csv.reader(fh, delimiter=facts.delimiter, strict=True)
        # report the line a record starts on (a quoted line break makes it span several)
        start = 1
        try:
            next(reader)
            start = reader.line_num + 1
            for record in reader:
                if not record or record == [""]:
                    start = reader.line_num + 1
                    continue
                if len(record) != width:
                    return start, (
                        f"expected {width} fields, found {len(record)} "
                        "(a ragged row, or a file cut short)"
                    )
                longest = max(len(v) for v in record)
                if longest > MAX_FIELD:
                    return start, (f"a cell of {longest:,} characters is too large (cells "
                                   f"are limited to {MAX_FIELD:,})")
                start = reader.line_num + 1
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                return start, (f"a cell of more than {MAX_FIELD * 4:,} characters is too "
                               f"large (cells are limited to {MAX_FIELD:,})")
            end = reader.line_num
            span = f"; the record runs to line {end}" if end > start else ""
            return start, (f"malformed CSV ({exc}{span}): an unmatched quote, "
                           "or the file is cut short")
    return None, "could not parse the file"


def record_line(path: Path, facts: FileFacts, record: int) -> int:
    """The line on which data record `record` (1-based) starts, as an editor counts lines.

    Record and line numbers part ways after a quoted line break or a blank line.
    """
    csv.field_size_limit(MAX_FIELD * 4)
    with open(path, **text_options(facts.encoding), newline="") as fh:
        reader = csv.reader(fh, delimiter=facts.delimiter)
        try:
            next(reader)
            start, seen = reader.line_num + 1, 0
            for row in reader:
                if row and row != [""]:
                    seen += 1
                    if seen == record:
                        return start
                start = reader.line_num + 1
        except csv.Error:
            pass
    return record + 1


def text_preview(data: bytes, limit: int = 80) -> str:
    return io.BytesIO(data).read(limit).decode("utf-8", errors="replace")
