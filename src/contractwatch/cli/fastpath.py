"""Answer a query command without building the Typer app.

A cold `contractwatch top …` spent about 40 ms of CPU in Typer before any work: importing it
and building every option of the command's module from function signatures, a third of what
the whole question costs DuckDB on a small store. The options of the query commands are
therefore compiled ahead into `data/cli_options.json` from the Typer app itself
(`python -m contractwatch.cli.fastpath` writes it; a test checks it is current), and a
command line that uses them plainly (known options, values of the right type, no help) is
parsed here and answered by the same function the Typer command calls (`cli/answers.py`).
Anything else (`--help`, a mistake, an option written another way) goes to Typer, which
answers or explains exactly as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

OPTIONS_JSON = Path(__file__).resolve().parents[1] / "data" / "cli_options.json"
# the commands answered here: each is a function of cli/answers.py
FAST_COMMANDS = ("status", "top", "trend", "award", "search", "company", "resolve explain")


def parse(args: list[str]) -> Callable[[], None] | None:
    """The call that answers `args` (a command line without the program name), or None
    when Typer must read it."""
    spec = json.loads(OPTIONS_JSON.read_text(encoding="utf-8"))
    chosen, i = _read_options(spec["global"], args, 0, stop_at_word=True)
    if chosen is None or i >= len(args):
        return None
    name = " ".join(args[i:i + 2])  # a group's command ("resolve explain")
    if name not in spec["commands"]:
        name = args[i]
        if name not in spec["commands"]:
            return None
    first = i + len(name.split())
    values, end = _read_options(spec["commands"][name], args, first, stop_at_word=False)
    if values is None or end != len(args):
        return None
    return lambda: _answer(name, chosen, values)


def _answer(name: str, chosen: dict[str, Any], values: dict[str, Any]) -> None:
    from contractwatch.cli import answers
    from contractwatch.cli.state import Format, state
    from contractwatch.output import new_run

    new_run(quiet=chosen["quiet"])  # what the Typer app's callback does
    state.store_dir = Path(chosen["store"]) if chosen["store"] is not None else None
    state.duplicates = chosen["duplicates"]
    state.engine = chosen["engine"]
    if "fmt" in values:
        values["fmt"] = Format(values["fmt"])
    getattr(answers, name.replace(" ", "_"))(**values)


def _read_options(params: list[dict[str, Any]], args: list[str], i: int,
                  stop_at_word: bool) -> tuple[dict[str, Any] | None, int]:
    """The values of `params` read from args[i:] (defaults where not given) and where the
    reading stopped; None for anything not read here plainly."""
    by_opt = {o: p for p in params if p["kind"] == "option" for o in p["opts"]}
    positional = [p for p in params if p["kind"] == "argument"]
    values: dict[str, Any] = {p["name"]: p.get("default") for p in params}
    seen: set[str] = set()
    taken = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and arg != "-":
            opt, eq, inline = arg.partition("=")
            p = by_opt.get(opt)
            if p is None or p["name"] in seen or (eq and (p["flag"] or not opt.startswith("--"))):
                return None, i  # unknown, repeated, or a spelling left to Typer
            seen.add(p["name"])
            if p["flag"]:
                values[p["name"]] = True
                i += 1
                continue
            if eq:
                raw, i = inline, i + 1
            elif i + 1 < len(args) and not args[i + 1].startswith("-"):
                raw, i = args[i + 1], i + 2
            else:
                return None, i
            value = _convert(p, raw)
            if value is None:
                return None, i
            values[p["name"]] = value
            continue
        if stop_at_word:
            break
        if taken >= len(positional):
            return None, i
        values[positional[taken]["name"]] = arg
        taken += 1
        i += 1
    if any(p["required"] and p["name"] not in seen for p in params if p["kind"] == "option") \
            or any(p["required"] for p in positional[taken:]):
        return None, i
    return values, i


def _convert(p: dict[str, Any], raw: str) -> Any:
    """The option's value as Typer would pass it, or None where Typer should judge it."""
    kind = p["type"]
    if kind == "text":
        return raw
    if kind == "choice":
        return raw if raw in p["choices"] else None
    try:
        number: int | float = int(raw) if kind == "int" else float(raw)
    except ValueError:
        return None
    if kind == "float" and number != number:  # nan: Typer's to say
        return None
    low, high = p.get("min"), p.get("max")
    if (low is not None and number < low) or (high is not None and number > high):
        return None
    return number


# ---- compiled from the Typer app ---------------------------------------------------------

def compile_options() -> dict[str, Any]:
    """The global options and each fast command's parameters, as the Typer app builds them."""
    from typer.main import get_command

    from contractwatch.cli import load_commands

    group = get_command(load_commands())

    def command(name: str) -> Any:
        found = group
        for word in name.split():
            found = found.commands[word]
        return found

    return {"global": [_param(p) for p in group.params],
            "commands": {n: [_param(p) for p in command(n).params] for n in FAST_COMMANDS}}


def _param(p: Any) -> dict[str, Any]:
    type_name = type(p.type).__name__
    kind = {"StringParamType": "text", "Path": "text", "TyperPath": "text",
            "Choice": "choice", "TyperChoice": "choice", "IntParamType": "int",
            "IntRange": "int", "FloatParamType": "float", "FloatRange": "float",
            "BoolParamType": "flag"}.get(type_name)
    if type_name.endswith("Path") and (p.type.exists or p.type.resolve_path):
        kind = None  # a path Typer checks or resolves
    if kind is None or p.multiple or p.nargs != 1 or getattr(p, "secondary_opts", []):
        raise ValueError(f"option {p.name}: {type_name} is not read by the fast path")
    out: dict[str, Any] = {"name": p.name, "kind": p.param_type_name, "required": p.required}
    if p.param_type_name == "option":
        default = p.default.value if hasattr(p.default, "value") else p.default
        out.update(opts=[*p.opts], flag=bool(p.is_flag), type="flag" if p.is_flag else kind,
                   default=default)
        if kind == "choice":
            out["choices"] = [str(c.value if hasattr(c, "value") else c)
                              for c in p.type.choices]
        if type_name in ("IntRange", "FloatRange"):
            out.update(min=p.type.min, max=p.type.max)
    return out


def write() -> None:
    OPTIONS_JSON.write_text(json.dumps(compile_options(), indent=1, sort_keys=True) + "\n",
                            encoding="utf-8")
    print(f"wrote {OPTIONS_JSON}")


if __name__ == "__main__":
    write()
