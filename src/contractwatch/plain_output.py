"""Tables and lines drawn as Rich draws them when it draws no colour, without importing Rich.

Rich (~35 ms to import) is for terminals: colour, styles, Jupyter. When the output goes to a
file or a pipe, as in scripts and tests, it writes plain characters; these functions write
the same characters for the shapes the CLI prints, and say None when only Rich can (text that
is not plain ASCII, an emoji code, a tab), so the caller hands those to Rich. A test draws
every command's answers both ways and compares them.
"""

from __future__ import annotations

import os
import re
from typing import IO

_EMOJI_LIKE = re.compile(r":\S*?:")  # Rich would read ':name:' as an emoji code
_PLAIN_CELL = re.compile("[ -~\u2026]*")  # printable ASCII and "…": one column each


def plain_width(stream: IO[str]) -> int | None:
    """The width Rich would use for `stream` when it would draw no colour or style: None
    when it would (a terminal, Jupyter, forced colour), so that Rich draws."""
    env = os.environ
    if "FORCE_COLOR" in env or env.get("TTY_COMPATIBLE") == "1" or _in_ipython():
        return None
    if env.get("TTY_COMPATIBLE") != "0":
        isatty = getattr(stream, "isatty", None)
        if isatty is None or isatty():
            return None
    columns = env.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns) or 80
    for fd in (0, 1, 2):
        try:
            return os.get_terminal_size(fd).columns or 80
        except (AttributeError, ValueError, OSError):
            continue
    return 80


def _in_ipython() -> bool:
    """Running inside IPython or Jupyter, as Rich tells (its `get_ipython` is a builtin
    there); a process that merely imported ipykernel, e.g. to start a kernel, is not."""
    import builtins

    return getattr(builtins, "get_ipython", None) is not None


def _wrap(text: str, width: int) -> list[str]:
    """Words in lines of at most `width` (a longer word is cut), as Rich wraps a header."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = word
        while len(line) > width:
            lines.append(line[:width])
            line = line[width:]
    lines.append(line)
    return lines


def _fit(text: str, width: int, right: bool) -> str:
    if len(text) > width:
        text = text[:width - 1] + "…"
    return text.rjust(width) if right else text.ljust(width)


def plain_table(headers: list[str], kinds: list[tuple[int, bool, bool]],
                rows: list[list[str]]) -> str | None:
    """A table drawn as Rich draws it (heavy head, one space of padding), without Rich;
    None when Rich must draw it (text beyond plain ASCII, no rows, an empty width).
    `kinds`: (width, right-justified, no-wrap) per column."""
    if not rows or any(w < 1 for w, _, _ in kinds):
        return None
    if not all(_PLAIN_CELL.fullmatch(c) and c == c.strip() and "  " not in c
               for c in headers):
        return None
    if not all(_PLAIN_CELL.fullmatch(c) for row in rows for c in row):
        return None
    head: list[list[str]] = []
    for h, (w, right, no_wrap) in zip(headers, kinds, strict=True):
        lines = [h] if no_wrap else _wrap(h, w)
        head.append([_fit(x, w, right) for x in lines])
    height = max(len(x) for x in head)
    head = [[" " * len(x[0])] * (height - len(x)) + x for x in head]  # bottom-aligned
    bars = ["━" * (w + 2) for w, _, _ in kinds]
    out = ["┏" + "┳".join(bars) + "┓"]
    out += ["┃ " + " ┃ ".join(col[i] for col in head) + " ┃" for i in range(height)]
    out.append("┡" + "╇".join(bars) + "┩")
    for row in rows:
        cells = []
        for c, (w, right, no_wrap) in zip(row, kinds, strict=True):
            if not no_wrap and len(c) > w:
                return None  # Rich would fold it over lines
            cells.append(_fit(c, w, right))
        out.append("│ " + " │ ".join(cells) + " │")
    out.append("└" + "┴".join("─" * (w + 2) for w, _, _ in kinds) + "┘")
    return "\n".join(out) + "\n"


def plain_line(text: str) -> str | None:
    """A line as Rich prints it with no style (markup escaped, no wrapping); None when
    Rich would change it (an emoji code, a tab)."""
    if "\t" in text or _EMOJI_LIKE.search(text):
        return None
    return text + "\n"
