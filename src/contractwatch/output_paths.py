"""Where an output may be written: never inside the store, never over a file by surprise.

Every `-o` / `--output` / `--atom` path goes through here before anything is written. An
export or report written into the store's folder could replace a load's data or the manifest
(`export -o <store>/manifest.json`), so a path inside the store is refused, after following
symbolic links. An existing file is replaced only with `--force`; the one exception is an
Atom feed that contractwatch itself wrote, which `watch check --atom` exists to refresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path


class OutputPathError(ValueError):
    """An output path that would damage the store or replace a file without --force."""


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _resolve(path: Path, store_root: Path) -> Path:
    resolved = path.expanduser().resolve()
    root = store_root.expanduser().resolve()
    if _inside(resolved, root):
        raise OutputPathError(f"{path}: inside the store ({root}); write outputs elsewhere")
    return resolved


def check_output_file(path: str | Path, store_root: Path, force: bool = False,
                      ours: Callable[[Path], bool] | None = None) -> Path:
    """The path to write one output file at, or an error saying why not.

    `ours(path)` says whether an existing file is one this command wrote earlier (and may
    therefore be refreshed without --force).
    """
    given = Path(path)
    resolved = _resolve(given, store_root)
    if resolved.is_dir():
        raise OutputPathError(f"{given}: is a folder; give a file name")
    if resolved.exists() and not force and not (ours and ours(resolved)):
        raise OutputPathError(f"{given}: already exists; pass --force to replace it")
    if resolved.parent.exists() and not resolved.parent.is_dir():
        raise OutputPathError(f"{given}: {resolved.parent} is not a folder")
    return resolved


def check_output_folder(path: str | Path, store_root: Path, names: Iterable[str],
                        force: bool = False) -> Path:
    """The folder to write the files `names` into, or an error saying why not."""
    given = Path(path)
    resolved = _resolve(given, store_root)
    if resolved.exists() and not resolved.is_dir():
        raise OutputPathError(f"{given}: is a file; give a folder for csv/parquet exports")
    if not force:
        existing = [n for n in names if (resolved / n).exists()]
        if existing:
            raise OutputPathError(f"{given / existing[0]}: already exists; pass --force to "
                                  "replace it")
    for name in names:
        _resolve(resolved / name, store_root)  # a link in the folder pointing into the store
        if (resolved / name).is_dir():
            raise OutputPathError(f"{given / name}: is a folder, not a file this export writes")
    return resolved
