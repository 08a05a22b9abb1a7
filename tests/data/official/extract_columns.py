"""Derive ordered download column lists from USAspending's column lookup module.

Usage: python extract_columns.py <download_column_historical_lookups.py> <out_dir> [suffix]

The module maps each download column to the database path it is read from, in file order
(`query_paths[<download>][<file>]`, an OrderedDict of (column, path) pairs). This script
reads it with `ast` (nothing upstream is imported or run), keeps the column names in order,
and drops the internal `_NAMING_CONFLICT_SUFFIX` that the download writer strips from a name.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CONFLICT_SUFFIX = "_NAMING_CONFLICT_SUFFIX"

# (our list name, download key(s) over the module's history, file letter)
WANTED = (
    ("transaction_contracts", ("transaction_search", "transaction"), "d1"),
    ("award_contracts", ("award",), "d1"),
    ("subaward_contracts", ("subaward_search", "subaward"), "d1"),
)


def column_name(node: ast.expr) -> str:
    """A column is a string, or a string + the conflict-suffix name; return the public name."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.left, ast.Constant):
        return str(node.left.value)
    if isinstance(node, ast.JoinedStr):
        raise ValueError(f"formatted column name at line {node.lineno}")
    raise ValueError(f"unexpected column expression at line {node.lineno}")


def ordered_pairs(node: ast.expr) -> list[str]:
    """Column names of an `OrderedDict([(column, path), ...])` literal."""
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.List)):
        raise ValueError(f"not an OrderedDict literal at line {node.lineno}")
    names = []
    for item in node.args[0].elts:
        if not isinstance(item, ast.Tuple):
            raise ValueError(f"not a (column, path) pair at line {item.lineno}")
        names.append(column_name(item.elts[0]).removesuffix(CONFLICT_SUFFIX))
    return names


def query_paths(source: str) -> dict[str, dict[str, list[str]]]:
    tree = ast.parse(source)
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Dict)
                and any(isinstance(t, ast.Name) and t.id == "query_paths" for t in stmt.targets)):
            out: dict[str, dict[str, list[str]]] = {}
            for key, value in zip(stmt.value.keys, stmt.value.values, strict=True):
                if not (isinstance(key, ast.Constant) and isinstance(value, ast.Dict)):
                    continue
                files = {}
                for fkey, fval in zip(value.keys, value.values, strict=True):
                    if isinstance(fkey, ast.Constant) and isinstance(fval, ast.Call):
                        files[str(fkey.value)] = ordered_pairs(fval)
                out[str(key.value)] = files
            return out
    raise ValueError("no `query_paths = {...}` assignment found")


def main(argv: list[str]) -> None:
    source, out_dir = Path(argv[1]), Path(argv[2])
    suffix = argv[3] if len(argv) > 3 else ""
    paths = query_paths(source.read_text(encoding="utf-8"))
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, keys, letter in WANTED:
        found = next((paths[k][letter] for k in keys if k in paths and letter in paths[k]), None)
        if found is None:
            print(f"{name}: not in this version")
            continue
        (out_dir / f"{name}{suffix}.txt").write_text("\n".join(found) + "\n", encoding="utf-8")
        print(f"{name}{suffix}: {len(found)} columns")


if __name__ == "__main__":
    main(sys.argv)
