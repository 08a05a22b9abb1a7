"""ZIP archives as USAspending serves them, opened defensively.

A member path that is absolute, climbs out with `..`, or is a symlink is refused; so is an
archive whose members would expand past a size limit or at a ratio no CSV reaches
(a decompression bomb). Sizes are counted while extracting, not trusted from the header.
"""

from __future__ import annotations

import errno
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from contractwatch.sources.base import SourceError

MAX_TOTAL_BYTES = 64 << 30  # 64 GiB: far above any USAspending download
MAX_RATIO = 200  # CSV compresses ~10–30×; 200× is a bomb
READABLE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                    zipfile.ZIP_LZMA)
# Windows' "compressed folder" writes Deflate64 (method 9) for large files
METHOD_NAMES = {9: "Deflate64", 10: "PKWARE DCL Implode", 93: "Zstandard", 95: "XZ",
                98: "PPMd", 99: "AES encryption"}


def is_zip(path: Path) -> bool:
    """A ZIP by its first bytes: a member's header, or the end record of an empty archive."""
    with open(path, "rb") as fh:
        return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def _check_member(info: zipfile.ZipInfo, label: str) -> None:
    name = info.filename
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise SourceError(label, None, f"unsafe member path {name!r} (absolute path)")
    if ".." in pure.parts:
        raise SourceError(label, None, f"unsafe member path {name!r} (climbs out with '..')")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise SourceError(label, None, f"unsafe member {name!r} (a symbolic link)")


def _check_readable(info: zipfile.ZipInfo, label: str) -> None:
    """Members Python cannot unpack are refused before anything is extracted."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise SourceError(label, None, f"member {name!r} is encrypted (password-protected); "
                          "unpack it with its password and load the CSV")
    if info.compress_type not in READABLE_METHODS:
        method = METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
        raise SourceError(label, None, f"member {name!r} is compressed with {method}, which "
                          "cannot be read here; unpack it with another tool (e.g. 7-Zip) and "
                          "load the CSV, or re-pack it with ordinary Deflate")


def extract_members(archive: Path, workdir: Path, max_total: int = MAX_TOTAL_BYTES,
                    max_ratio: int = MAX_RATIO) -> Iterator[tuple[str, Path]]:
    """Yield (label, extracted path) for each CSV member, checking every member first."""
    label = str(archive)
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise SourceError(label, None, f"not a readable ZIP archive ({exc})") from None
    with zf:
        members = [i for i in zf.infolist() if not i.is_dir()]
        for info in members:
            _check_member(info, label)
        csvs = [i for i in members if i.filename.lower().endswith((".csv", ".txt"))]
        if not csvs:
            raise SourceError(label, None, "the archive holds no .csv member")
        for info in csvs:
            _check_readable(info, label)
        total = 0
        for n, info in enumerate(csvs):
            if info.file_size > max_total:
                raise SourceError(label, None, f"member {info.filename!r} declares "
                                  f"{info.file_size:,} bytes, over the {max_total:,} limit")
            target = workdir / f"member-{n}.csv"
            written = 0
            budget = max(info.compress_size, 1) * max_ratio + (1 << 20)
            try:
                with zf.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        total += len(chunk)
                        if written > budget or total > max_total:
                            raise SourceError(
                                label, None,
                                f"member {info.filename!r} expands past {written:,} bytes "
                                f"from {info.compress_size:,} compressed: a decompression bomb",
                            )
                        dst.write(chunk)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise  # the disk is full: not the archive's fault
                raise SourceError(label, None,
                                  f"member {info.filename!r} is damaged ({exc})") from None
            yield f"{archive.name}!{info.filename}", target
            target.unlink(missing_ok=True)
