"""Every `contractwatch …` command in README.md and docs/*.md runs as pasted.

Commands come from the shell blocks (a line starting with `contractwatch `) and from inline
code. They run in order, through a shell (so `> file` works as pasted), in a folder whose
`../shared` is the shared data and with a fresh default store. Skipped, each with its reason:
commands that need the network or a server, and placeholders to fill in.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = {  # why a command cannot run here, by its first words
    "sync": "fetches from the USAspending API (network) or the test server that speaks it",
    "enrich": "fetches award detail from the USAspending API (network)",
    "serve": "starts a web server that runs until stopped (tests/test_web_api.py runs it)",
    "--engine spark": "needs a JVM; the spark-marked tests run the same analyses on Spark",
    "--meaning": "builds the meaning index first (minutes of CPU); tests/test_meaning.py runs it",
}


def commands() -> list[tuple[str, str]]:
    """(where, command) in document order."""
    found: list[tuple[str, str]] = []
    for doc in DOCS:
        in_block = False
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("```"):
                in_block = not in_block
                continue
            where = f"{doc.name}:{number}"
            if in_block and line.startswith("contractwatch "):
                found.append((where, line))
            elif not in_block:
                found += [(where, m) for m in re.findall(r"`(contractwatch [^`]+)`", line)]
    return found


def skip_reason(command: str) -> str | None:
    words = command.split("#")[0].split()[1:]
    if re.search(r"<[^>]+>|\.\.\.", command):
        return "a placeholder to fill in"
    if words[:2] == ["sync", "--list"]:
        return None  # the saved queries, read from the store
    for word, why in SKIP.items():
        if word in words or " ".join(words).startswith(word):
            return why
    return None


def writes_a_file(command: str) -> bool:
    words = command.split("#")[0].split()
    return ">" in words or "-o" in words or words[1:3] == ["watch", "add"]


def test_the_docs_hold_commands() -> None:
    found = commands()
    runnable = [c for _, c in found if skip_reason(c) is None]
    assert len(found) >= 25 and len(runnable) >= 18
    assert not any(" | " in c.split("#")[0] for c in runnable), "a command reads as a pipe"


def test_every_documented_command_runs(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "shared").symlink_to(SHARED)
    env = {**os.environ, "CONTRACTWATCH_STORE": str(tmp_path / "store"), "COLUMNS": "100",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    ran, skipped, failed = 0, [], []
    for where, command in commands():
        why = skip_reason(command)
        if why:
            skipped.append(f"{where} {command.split('#')[0].strip()}: {why}")
            continue
        out = subprocess.run(command, shell=True, cwd=work, env=env, capture_output=True,
                             text=True, timeout=600, executable="/bin/bash")
        ran += 1
        if out.returncode != 0 or "Traceback" in out.stderr:
            failed.append(f"{where} {command}: exit {out.returncode}: {out.stderr[-500:]}")
        elif not out.stdout.strip() and not writes_a_file(command):
            failed.append(f"{where} {command}: printed nothing")
    print(f"ran {ran} documented commands; skipped {len(skipped)}:", *skipped, sep="\n  ")
    assert not failed, "\n".join(failed)
    assert (work / "award.csv").read_text().startswith("action_date,")
    assert (work / "report.html").exists() and (work / "ice.ftm.json").exists()


def test_skips_are_only_for_the_network_servers_and_placeholders() -> None:
    for _, command in commands():
        why = skip_reason(command)
        assert why is None or why in SKIP.values() or why == "a placeholder to fill in", \
            command


@pytest.mark.parametrize("command", ["contractwatch top --agency CBP --by psc"])
def test_the_by_choices_line_is_one_command(command: str) -> None:
    assert any(c.split("#")[0].strip() == command for _, c in commands())
