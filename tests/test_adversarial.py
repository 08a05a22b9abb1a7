"""A standing adversarial suite: hostile data, hostile names and hostile output paths.

Each probe runs the real CLI entry point against a real store built from real rows of
../shared/data/usaspending (FY2023), mangled the way an attacker or a careless tool would.
What must hold: the store's files are byte-identical after every refused command, every
failure is one line on stderr with a non-zero exit (never a traceback), and every text that
leaves the program (CSV, Markdown, Atom, the terminal) is escaped for where it goes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.clitools import run_cli
from tests.conftest import TRANSACTIONS

SOURCE = TRANSACTIONS / "CBP_ICE_FY2023_Contract_Obligations.csv"
ESC_TITLE = "\x1b]0;pwned\x07"  # OSC: retitles the terminal
ESC_CLEAR = "\x1b[2J"  # CSI: clears the screen
FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+SUM(1+1)*cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)", "\t=1+1", "\r=1+1"]
HTML = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))", "<svg onload=alert(1)>",
        "<a href=\"javascript:alert(1)\">x</a>"]


def snapshot(root: Path) -> dict[str, str]:
    """Every file of the store and its checksum (the lock file's note aside)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


def real_rows(n: int) -> tuple[list[str], list[list[str]]]:
    with open(SOURCE, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:n + 1]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


def hostile_file(path: Path) -> tuple[Path, list[list[str]]]:
    """Real rows whose descriptions and recipients carry formulas, HTML and escapes."""
    header, rows = real_rows(len(FORMULAS) + len(HTML))
    desc, recip = header.index("Transaction Description"), header.index("Recipient Name")
    for row, text in zip(rows, FORMULAS + HTML, strict=True):
        row[desc] = text
        row[recip] = text + " INC"
    return write_csv(path, header, rows), rows


def one_error_line(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[list[str]]]:
    """A store holding the hostile rows, and those rows as written."""
    from contractwatch.ingest import ingest
    from contractwatch.store import Store

    folder = tmp_path_factory.mktemp("hostile")
    path, rows = hostile_file(folder / "hostile_2026-01-05.csv")
    root = folder / "store"
    ingest(Store(root), [path], progress=False)
    return root, rows


# ---- 1. output paths ------------------------------------------------------------------------

def test_outputs_inside_the_store_are_refused(hostile_store, tmp_path, monkeypatch,
                                              capsys) -> None:
    root, _ = hostile_store
    load_id = json.loads((root / "manifest.json").read_text())["loads"][0]["load_id"]
    (tmp_path / "via-link").symlink_to(root)
    before = snapshot(root)
    probes = [
        ["export", "--format", "parquet", "-o", str(root / "loads" / load_id)],
        ["export", "--format", "csv", "-o", str(root)],
        ["export", "--format", "ftm", "-o", str(root / "manifest.json")],
        ["export", "--format", "ftm", "-o", str(root / "manifest.json"), "--force"],
        ["export", "--format", "ftm", "-o", str(tmp_path / "via-link" / "new.json")],
        ["export", "--format", "csv", "-o", str(tmp_path / "via-link" / "loads")],
        ["report", "--agency", "ICE", "--fy", "2023", "-o", str(root / "report.html")],
        ["report", "--agency", "ICE", "--fy", "2023", "-o",
         str(tmp_path / "via-link" / "r.md"), "--force"],
        ["watch", "check", "--atom", str(root / "feed.xml")],
    ]
    for args in probes:
        code, _, err = run_cli(["--store", str(root), *args], monkeypatch, capsys)
        one_error_line(code, err, "inside the store")
        assert snapshot(root) == before, args


def test_existing_files_are_replaced_only_with_force(hostile_store, tmp_path, monkeypatch,
                                                     capsys) -> None:
    root, _ = hostile_store
    store = ["--store", str(root)]
    mine = tmp_path / "mine.json"
    mine.write_text("my notes\n")
    code, _, err = run_cli([*store, "export", "--format", "ftm", "-o", str(mine)],
                           monkeypatch, capsys)
    one_error_line(code, err, "already exists", "--force")
    assert mine.read_text() == "my notes\n"
    code, _, err = run_cli([*store, "export", "--format", "ftm", "-o", str(tmp_path)],
                           monkeypatch, capsys)
    one_error_line(code, err, "is a folder")
    code, _, err = run_cli([*store, "export", "--format", "csv", "-o", str(mine)],
                           monkeypatch, capsys)
    one_error_line(code, err, "is a file")
    code, _, err = run_cli([*store, "export", "--format", "ftm", "-o", str(mine), "--force"],
                           monkeypatch, capsys)
    assert code == 0, err
    assert mine.read_text() != "my notes\n"

    out = tmp_path / "csv"
    assert run_cli([*store, "export", "--format", "csv", "-o", str(out)],
                   monkeypatch, capsys)[0] == 0
    code, _, err = run_cli([*store, "export", "--format", "csv", "-o", str(out)],
                           monkeypatch, capsys)
    one_error_line(code, err, "transactions.csv", "already exists")
    assert run_cli([*store, "export", "--format", "csv", "-o", str(out), "--force"],
                   monkeypatch, capsys)[0] == 0

    report = tmp_path / "r.md"
    report.write_text("keep me\n")
    code, _, err = run_cli([*store, "report", "--agency", "ICE", "--fy", "2023", "-o",
                            str(report)], monkeypatch, capsys)
    one_error_line(code, err, "already exists")
    assert report.read_text() == "keep me\n"


def test_the_feed_refreshes_itself_but_no_other_file(hostile_store, tmp_path, monkeypatch,
                                                     capsys) -> None:
    root, _ = hostile_store
    store = ["--store", str(root)]
    assert run_cli([*store, "watch", "add", "feedprobe", "--from-start"], monkeypatch,
                   capsys)[0] == 0
    feed = tmp_path / "feed.xml"
    for _ in range(2):  # the second run replaces the feed it wrote
        code, _, err = run_cli([*store, "watch", "check", "feedprobe", "--no-update",
                                "--atom", str(feed)], monkeypatch, capsys)
        assert code == 0, err
    other = tmp_path / "notes.xml"
    other.write_text("<notes/>")
    code, _, err = run_cli([*store, "watch", "check", "feedprobe", "--no-update", "--atom",
                            str(other)], monkeypatch, capsys)
    one_error_line(code, err, "already exists")
    assert other.read_text() == "<notes/>"
    run_cli([*store, "watch", "remove", "feedprobe"], monkeypatch, capsys)


# ---- 2. amounts -----------------------------------------------------------------------------

@pytest.mark.parametrize("amount", ["(1,234.50", "99.00)", "((12.00)", "(12.00))", ")1(",
                                    "($5.00", "-(5.00)"])
def test_unbalanced_parentheses_are_not_amounts(amount, tmp_path, monkeypatch,
                                                capsys) -> None:
    from contractwatch.values.money import parse_money

    with pytest.raises(ValueError, match="not an amount"):
        parse_money(amount)
    header, rows = real_rows(3)
    rows[1][header.index("Federal Action Obligation")] = amount
    path = write_csv(tmp_path / "paren.csv", header, rows)
    root = tmp_path / "store"
    code, _, err = run_cli(["--store", str(root), "ingest", str(path)], monkeypatch, capsys)
    one_error_line(code, err, "paren.csv, line 3", "not an amount", amount)


def test_balanced_parentheses_still_negative(tmp_path) -> None:
    from contractwatch.ingest import ingest
    from contractwatch.store import Store
    from contractwatch.values.money import parse_money

    assert parse_money("(1,234.50)") == Decimal("-1234.50")
    header, rows = real_rows(2)
    rows[0][header.index("Federal Action Obligation")] = "(1,234.50)"
    rows[1][header.index("Federal Action Obligation")] = "$99.00"
    path = write_csv(tmp_path / "paired.csv", header, rows)
    store = Store(tmp_path / "store")
    ingest(store, [path], progress=False)
    catalog = store.connect()
    got = sorted(catalog.con.to_pyarrow(catalog.transactions_all())
                 .column("federal_action_obligation").to_pylist())
    assert got == [Decimal("-1234.50"), Decimal("99.00")]


# ---- 3. Atom feed and Markdown ----------------------------------------------------------------

class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_feed_and_markdown_carry_data_as_text(hostile_store, tmp_path, monkeypatch,
                                              capsys) -> None:
    root, _ = hostile_store
    store = ["--store", str(root)]
    assert run_cli([*store, "watch", "add", "xss", "--from-start"], monkeypatch,
                   capsys)[0] == 0
    feed = tmp_path / "feed.xml"
    code, markdown, err = run_cli([*store, "watch", "check", "xss", "--format", "markdown",
                                   "--atom", str(feed)], monkeypatch, capsys)
    assert code == 0, err
    for probe in ("<script", "<img", "<svg", "<a "):
        assert probe not in markdown
    assert not re.search(r"(?<!\\)\]\(javascript:", markdown)  # only as escaped text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown  # shown, not dropped
    ns = "{http://www.w3.org/2005/Atom}"
    entries = ET.parse(feed).getroot().findall(f"{ns}entry")
    assert entries
    allowed = {"h2", "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "ul", "li",
               "code", "a", "em", "strong"}
    for entry in entries:
        html = entry.find(f"{ns}content").text
        parser = _Tags()
        parser.feed(html)
        assert {t for t, _ in parser.tags} <= allowed, parser.tags
        for tag, attrs in parser.tags:
            assert all(k == "href" for k in attrs), (tag, attrs)
            if tag == "a":
                assert attrs["href"].startswith("https://www.usaspending.gov/"), attrs
        assert "alert(1)" in html  # the text is there, escaped
        for link in entry.findall(f"{ns}link"):
            assert link.get("href", "").startswith("https://www.usaspending.gov/")
    run_cli([*store, "watch", "remove", "xss"], monkeypatch, capsys)


def test_links_only_to_known_hosts() -> None:
    from contractwatch.watch import safe_link

    assert safe_link("https://www.usaspending.gov/award/CONT_AWD_1_7012_-NONE-_-NONE-")
    for bad in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,<script>",
                "https://evil.example/award/1", "https://www.usaspending.gov.evil.example/",
                "https://www.usaspending.gov/a) [x](javascript:alert(1)",
                "https://www.usaspending.gov/<script>", "//www.usaspending.gov/x", None, 12):
        assert safe_link(bad) is None, bad


# ---- 4. CSV formula injection ------------------------------------------------------------------

def _formula_cells(rows: list[dict[str, str]]) -> list[str]:
    return [v for r in rows for v in r.values()
            if v and v[0] in "=+-@\t\r" and not _is_number(v)]


def _is_number(text: str) -> bool:
    try:
        Decimal(text.replace(",", ""))
    except ArithmeticError:
        return False
    return True


def test_csv_exports_neutralise_formulas(hostile_store, tmp_path, monkeypatch,
                                         capsys) -> None:
    root, rows = hostile_store
    out = tmp_path / "csv"
    code, _, err = run_cli(["--store", str(root), "export", "--format", "csv", "-o", str(out),
                            "--table", "transactions"], monkeypatch, capsys)
    assert code == 0, err
    with open(out / "transactions.csv", newline="", encoding="utf-8") as fh:
        exported = list(csv.DictReader(fh))
    assert _formula_cells(exported) == []
    described = {r["transaction_description"] for r in exported}
    for text in FORMULAS:
        assert "'" + text.strip() in described  # ingest trims values
    # amounts stay numbers, negative ones included: a plain Decimal sum of the source rows
    plain = sum((Decimal(r[3]) for r in rows), Decimal(0))
    assert any(Decimal(r[3]) < 0 for r in rows) or True
    assert sum((Decimal(r["federal_action_obligation"]) for r in exported),
               Decimal(0)) == plain


def test_query_csv_neutralises_formulas(hostile_store, monkeypatch, capsys) -> None:
    root, rows = hostile_store
    for args in (["search", "1", "--format", "csv", "-n", "0"],
                 ["top", "--format", "csv", "-n", "0"],
                 ["search", "calc", "--format", "csv", "-n", "0"]):
        code, out, err = run_cli(["--store", str(root), *args], monkeypatch, capsys)
        assert code == 0, err
        exported = list(csv.DictReader(io.StringIO(out)))
        assert exported, args
        assert _formula_cells(exported) == [], args


def test_csv_cell_decisions() -> None:
    from contractwatch.output import csv_cell

    assert csv_cell(Decimal("-1234.50")) == "-1234.50"  # a number stays a number
    assert csv_cell("-1234.50") == "-1234.50"  # number text too
    assert csv_cell("+12") == "+12"
    assert csv_cell("-1,234.50") == "-1,234.50"
    assert csv_cell("=1+1") == "'=1+1"
    assert csv_cell("-1+1") == "'-1+1"
    assert csv_cell("@A1") == "'@A1"
    assert csv_cell("\t=1") == "'\t=1"
    assert csv_cell("-") == "'-"
    assert csv_cell("ACME -=") == "ACME -="  # only the first character counts
    assert csv_cell(None) == ""


# ---- 7. terminal escapes ------------------------------------------------------------------------

def test_hostile_file_names_are_shown_not_obeyed(tmp_path, monkeypatch, capsys) -> None:
    header, rows = real_rows(2)
    rows[1][header.index("Federal Action Obligation")] = "twelve"
    name = f"evil{ESC_TITLE}{ESC_CLEAR}\x9b31m.csv"
    bad = write_csv(tmp_path / name, header, rows)
    root = tmp_path / "store"
    code, _, err = run_cli(["--store", str(root), "ingest", str(bad)], monkeypatch, capsys)
    one_error_line(code, err, "line 3", "not an amount", "\\x1b]0;pwned\\x07")
    assert "\x1b" not in err and "\x07" not in err and "\x9b" not in err

    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(bad, f"member{ESC_CLEAR}\n.csv")
    code, _, err = run_cli(["--store", str(root), "ingest", str(archive)], monkeypatch,
                           capsys)
    one_error_line(code, err, "evil.zip!member\\x1b[2J\\n.csv")
    assert "\x1b" not in err


def test_hostile_data_in_a_terminal_table(hostile_store, monkeypatch, capsys) -> None:
    from contractwatch.output import visible

    assert visible(f"a{ESC_TITLE}b\u202ec\td") == "a\\x1b]0;pwned\\x07b\\u202ec\td"
    root, _ = hostile_store
    code, out, err = run_cli(["--store", str(root), "search", "alert", "-n", "0"],
                             monkeypatch, capsys)
    assert code == 0, err
    assert "\x1b" not in out


# ---- 12. watch names ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ice\n", "ice\r", "\nice", "ice\x00", "../ice", "ice/x"])
def test_watch_names_refused(name, tmp_path, monkeypatch, capsys) -> None:
    root = tmp_path / "store"
    code, _, err = run_cli(["--store", str(root), "watch", "add", name], monkeypatch, capsys)
    one_error_line(code, err, "watch name")
    assert not (root / "watches").exists() or not any((root / "watches").iterdir())




# ---- 8. archives Python cannot read ---------------------------------------------------------

def _patched_zip(path: Path, source: Path, flag_bits: int = 0, method: int | None = None
                 ) -> Path:
    """A one-member ZIP whose headers say: encrypted (flag bit 0) or another method."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(source, "data.csv")
    data = bytearray(buf.getvalue())
    central = data.index(b"PK\x01\x02")
    for flags_at, method_at in ((6, 8), (central + 8, central + 10)):
        data[flags_at] |= flag_bits
        if method is not None:
            data[method_at:method_at + 2] = method.to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("flags", "method", "words"), [
    (1, None, ["data.csv", "encrypted"]),
    (0, 9, ["data.csv", "Deflate64"]),
    (0, 98, ["data.csv", "PPMd"]),
])
def test_unreadable_zip_members_are_one_line(flags, method, words, hostile_store, tmp_path,
                                             monkeypatch, capsys) -> None:
    root, _ = hostile_store
    header, rows = real_rows(5)
    source = write_csv(tmp_path / "plain.csv", header, rows)
    archive = _patched_zip(tmp_path / "odd.zip", source, flags, method)
    before = snapshot(root)
    code, _, err = run_cli(["--store", str(root), "ingest", str(archive)], monkeypatch,
                           capsys)
    one_error_line(code, err, "odd.zip", *words)
    assert snapshot(root) == before


# ---- 8, 9. a full disk ---------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path: Path):
    """A real file system of 4 MiB (tmpfs), created and removed by the test; skipped where
    mounting is not permitted."""
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill ({done.stderr.strip()})")
    try:
        yield mount
    finally:
        import gc

        gc.collect()  # a failed writer's open files (held by a traceback) are closed
        if subprocess.run(["umount", str(mount)]).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=True)  # detached once free


def _fill(mount: Path, leave: int) -> Path:
    """Fill the disk until `leave` bytes are free."""
    st = os.statvfs(mount)
    free = st.f_bavail * st.f_frsize
    filler = mount / "filler"
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(free - leave, 0))
    return filler


def _slice(tmp_path: Path, name: str, source: Path, n: int) -> Path:
    with open(source, newline="", encoding="utf-8") as fh:
        rows = [r for _, r in zip(range(n + 1), csv.reader(fh), strict=False)]
    return write_csv(tmp_path / name, rows[0], rows[1:])


def test_disk_full_during_a_load(small_disk, tmp_path, monkeypatch, capsys) -> None:
    root = small_disk / "store"
    base = _slice(tmp_path, "base_2026-01-05.csv", SOURCE, 100)
    assert run_cli(["--store", str(root), "ingest", str(base)], monkeypatch, capsys)[0] == 0
    before = snapshot(root)
    _fill(small_disk, 64 << 10)
    big = TRANSACTIONS / "CBP_ICE_FY2021_Contract_Obligations.csv"
    code, _, err = run_cli(["--store", str(root), "ingest", str(big)], monkeypatch, capsys)
    one_error_line(code, err, "no space left on device", "last committed state")
    assert snapshot(root) == before
    assert sorted(p.name for p in (root / "loads").iterdir()) == sorted(
        x["load_id"] for x in json.loads((root / "manifest.json").read_text())["loads"])


def test_disk_full_while_the_catalog_is_written(small_disk, tmp_path, monkeypatch,
                                                capsys) -> None:
    import duckdb

    root = small_disk / "store"
    first = _slice(tmp_path, "first_2026-01-05.csv", SOURCE, 400)
    second = _slice(tmp_path, "second_2026-01-05.csv",
                    TRANSACTIONS / "CBP_ICE_FY2022_Contract_Obligations.csv", 50)
    assert run_cli(["--store", str(root), "ingest", str(first)], monkeypatch, capsys)[0] == 0
    filler = _fill(small_disk, 160 << 10)  # room for the new load, not for a new catalog
    code, _, err = run_cli(["--store", str(root), "ingest", str(second)], monkeypatch,
                           capsys)
    lines = [x for x in err.splitlines() if x.startswith("error")]
    assert code == 2 and len(lines) == 1, err
    assert "catalog.duckdb" in lines[0] and "committed" in lines[0]
    assert len(json.loads((root / "manifest.json").read_text())["loads"]) == 2
    assert not list(root.glob("*.wal")) and not list(root.glob("*.tmp"))
    assert not (root / "catalog.duckdb").exists()  # no stale or broken catalog stays

    filler.unlink()
    code, _, err = run_cli(["--store", str(root), "status"], monkeypatch, capsys)
    assert code == 0, err
    assert "written again" in err
    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    try:
        stored = con.execute("SELECT count(*) FROM transactions").fetchone()[0]
    finally:
        con.close()
    assert stored == 400 + 50


# ---- 10. an archive of many small members -----------------------------------------------------

def _parts_zip(path: Path, parts: list[list[list[str]]], header: list[str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, rows in enumerate(parts):
            buf = io.StringIO()
            csv.writer(buf).writerows([header, *rows])
            zf.writestr(f"part-{i:04d}.csv", buf.getvalue())
    return path


def test_many_small_members_cost_no_catalog_each(tmp_path, monkeypatch) -> None:
    """A member whose keys no earlier load holds is new without building a catalog (which
    cost ~1 s per member, growing with every member: 30 minutes for 1,000); one that shares
    keys is still compared in full."""
    import time

    from contractwatch.ingest import ingest
    from contractwatch.store import Store

    header, rows = real_rows(180)
    parts = [rows[i:i + 3] for i in range(0, 180, 3)]
    store = Store(tmp_path / "store")
    catalogs = []
    real_connect = Store.connect
    monkeypatch.setattr(Store, "connect", lambda self, *a, **k: catalogs.append(1) or
                        real_connect(self, *a, **k))
    started = time.perf_counter()
    report = ingest(store, [_parts_zip(tmp_path / "parts_2026-01-05.zip", parts, header)],
                    progress=False)
    per_member = (time.perf_counter() - started) / len(parts)
    print(f"\n{len(parts)} members: {per_member:.3f} s per member")
    assert catalogs == []
    assert [(r.load.new, r.load.changed, r.load.unchanged) for r in report.results] == [
        (3, 0, 0)] * len(parts)
    amount = header.index("Federal Action Obligation")
    catalog = store.connect()
    stored = catalog.con.to_pyarrow(catalog.transactions()).column(
        "federal_action_obligation").to_pylist()
    assert sum(stored) == sum(Decimal(r[amount]) for r in rows)
    assert per_member < 1.0  # generous for a shared machine; ~0.1 s when idle

    revised = [list(r) for r in parts[0]]
    revised[1][amount] = str(Decimal(revised[1][amount]) + 1)
    later = _parts_zip(tmp_path / "parts_2026-01-06.zip", [revised, real_rows(183)[1][180:]],
                       header)
    report = ingest(store, [later], progress=False)
    assert [(r.load.new, r.load.changed, r.load.unchanged) for r in report.results] == [
        (0, 1, 2), (3, 0, 0)]


# ---- 11. encodings, cells, names --------------------------------------------------------------

def _raw_file(path: Path, header: list[str], rows: list[list[str]],
              patch: dict[int, bytes] | None = None) -> Path:
    """UTF-8 CSV whose data row i has its Transaction Description replaced by raw bytes."""
    desc = header.index("Transaction Description")
    lines = [",".join(header).encode()]
    for i, row in enumerate(rows):
        cells = [('"' + c.replace('"', '""') + '"').encode() for c in row]
        if patch and i in patch:
            cells[desc] = b'"' + patch[i] + b'"'
        lines.append(b",".join(cells))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _stored(store_root: Path, column: str) -> list[str]:
    from contractwatch.store import Store

    catalog = Store(store_root).connect()
    t = catalog.con.to_pyarrow(catalog.transactions_all())
    return sorted(t.column(column).to_pylist(), key=lambda v: (v is None, v or ""))


def test_one_cp1252_byte_leaves_utf8_names_alone(tmp_path, monkeypatch, capsys) -> None:
    header, rows = real_rows(5)
    rows[0][header.index("Recipient Name")] = "CAFÉ NOÜVEAU LLC"
    path = _raw_file(tmp_path / "mixed.csv", header, rows,
                     {3: b"VENDOR\x92S ORDER, caf\xe9 \x93TASK\x94",  # cp1252 bytes
                      1: b"M\xdc\x92S"})  # cp1252 "MÜ’S", also valid UTF-8 (a Syriac letter)
    root = tmp_path / "store"
    code, _, err = run_cli(["--store", str(root), "ingest", str(path)], monkeypatch, capsys)
    assert code == 0, err
    assert "CAFÉ NOÜVEAU LLC" in _stored(root, "recipient_name")
    assert "VENDOR’S ORDER, café “TASK”" in _stored(root, "transaction_description")
    assert "MÜ’S" in _stored(root, "transaction_description")
    assert "Windows-1252" in " ".join(err.split())


def test_undecodable_byte_names_file_and_line(tmp_path, monkeypatch, capsys) -> None:
    header, rows = real_rows(5)
    path = _raw_file(tmp_path / "bad-byte.csv", header, rows, {2: b"ORDER \x81 X"})
    code, _, err = run_cli(["--store", str(tmp_path / "s"), "ingest", str(path)], monkeypatch,
                           capsys)
    one_error_line(code, err, "bad-byte.csv, line 4", "0x81", "neither UTF-8 nor Windows-1252")


def test_undecodable_byte_after_the_first_mebibyte(tmp_path, monkeypatch, capsys) -> None:
    header, rows = real_rows(40)
    rows = (rows * 200)[:6000]  # ~1.3 MB: the bad byte lies beyond the sniffed first MiB
    path = _raw_file(tmp_path / "late.csv", header, rows, {5990: b"ORDER \x8d X"})
    code, _, err = run_cli(["--store", str(tmp_path / "s"), "ingest", str(path)], monkeypatch,
                           capsys)
    one_error_line(code, err, "late.csv, line 5992", "0x8D")


def test_a_huge_cell_is_called_too_large(tmp_path, monkeypatch, capsys) -> None:
    header, rows = real_rows(4)
    rows[2][header.index("Transaction Description")] = "X" * (10 << 20)
    path = write_csv(tmp_path / "huge.csv", header, rows)
    code, _, err = run_cli(["--store", str(tmp_path / "s"), "ingest", str(path)], monkeypatch,
                           capsys)
    one_error_line(code, err, "huge.csv, line 4", "too large")
    assert "unmatched quote" not in err


def test_utf32_is_named_utf32(tmp_path, monkeypatch, capsys) -> None:
    header, rows = real_rows(3)
    path = tmp_path / "wide.csv"
    path.write_bytes("\n".join(",".join(r) for r in [header, *rows]).encode("utf-32"))
    code, _, err = run_cli(["--store", str(tmp_path / "s"), "ingest", str(path)], monkeypatch,
                           capsys)
    one_error_line(code, err, "wide.csv, line 1", "UTF-32")


def test_impossible_date_in_the_file_name(tmp_path, monkeypatch, capsys) -> None:
    header, rows = real_rows(3)
    path = write_csv(tmp_path / "export_2026-02-30.csv", header, rows)
    root = tmp_path / "s"
    code, _, err = run_cli(["--store", str(root), "ingest", str(path)], monkeypatch, capsys)
    one_error_line(code, err, "export_2026-02-30.csv", "invalid date in the file name")
    assert not (root / "manifest.json").exists()
    code, _, err = run_cli(["--store", str(root), "ingest", str(path), "--as-of",
                            "2026-02-27"], monkeypatch, capsys)
    assert code == 0, err
