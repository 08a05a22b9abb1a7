"""Read the official API Blueprint contracts (tests/apiserver/contracts/) into checkable shapes.

The files are API Blueprint with MSON attribute lists. This reads the subset they use: the
resource line `# Name [/api/v2/path/{param}/]`, `## GET` / `## POST`, a request's
`+ Attributes` and `+ Parameters`, a response's `+ Attributes (Type)` or inline attributes,
and the `# Data Structures` section (objects, arrays of allowed values, enums, and objects
that only point to a definition in another file, such as search_filters.md).

`check(value, type, …)` answers what is wrong with a value against a contract type: a field
the contract does not define, a missing required field, a wrong JSON type, a value outside
an enum. The test server refuses such requests and refuses to send such responses.

Where the server code behind a contract disagrees with the document, the server code wins;
those points are listed in SERVER_CODE with the file they come from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

CONTRACTS = Path(__file__).parent / "contracts"

# (contract file, dotted path of the field) -> the type the server code really uses.
SERVER_CODE: dict[tuple[str, str], tuple[str, str]] = {
    # The contract types the download filter as a string; the view validates it with
    # AWARD_FILTER_NO_RECIPIENT_ID, where it is an array of text.
    ("v2/download/transactions.md", "filters.recipient_search_text"): (
        "array[string]", "usaspending_api/common/validator/award_filter.py"),
    # The contract's own TimePeriodObject has only start_date and end_date; the view validates
    # time_period with AWARD_FILTER_W_FILTERS, whose date_type is optional (action_date,
    # last_modified_date, date_signed, new_awards_only).
    ("v2/search/spending_by_transaction.md", "filters.time_period.date_type"): (
        "string", "usaspending_api/common/validator/award_filter.py"),
    # Search rows carry the Elasticsearch values: amounts are numbers, internal_id the
    # integer award id.
    ("v2/search/spending_by_transaction.md", "results.Transaction Amount"): (
        "number", "usaspending_api/search/v2/views/spending_by_transaction.py "
        "(build_elasticsearch_result)"),
    ("v2/search/spending_by_transaction.md", "results.internal_id"): (
        "number", "usaspending_api/search/v2/views/spending_by_transaction.py "
        "(row['internal_id'] = hit['award_id'])"),
    # construct_es_response sends str(last_record_sort_value) and the id (or None) always.
    ("v2/search/spending_by_award.md", "page_metadata.last_record_unique_id"): (
        "number, nullable", "usaspending_api/search/v2/views/spending_by_award.py "
        "(construct_es_response)"),
    # The contract lists child_idvs as the example and default of `type` but not among its
    # members; the view's enum (TYPE_TO_SQL_MAPPING) has all three (the handler checks).
    ("v2/idvs/awards.md", "type"): (
        "string", "usaspending_api/idvs/v2/views/awards.py (TYPE_TO_SQL_MAPPING)"),
    # Subaward rows: internal_id is the subaward number (a string; awards keep the integer
    # id), prime_award_internal_id the prime's integer id, the amount a number
    # (internal_id_fields, calculate_complex_fields).
    ("v2/search/spending_by_award.md", "results.internal_id"): (
        "enum[number, string]", "usaspending_api/search/v2/views/spending_by_award.py "
        "(GLOBAL_MAP['subawards']['internal_id_fields'])"),
    ("v2/search/spending_by_award.md", "results.prime_award_internal_id"): (
        "number, nullable", "usaspending_api/search/v2/views/spending_by_award.py "
        "(internal_id_fields)"),
    ("v2/search/spending_by_award.md", "results.Sub-Award Amount"): (
        "number", "usaspending_api/search/v2/views/spending_by_award.py "
        "(calculate_complex_fields)"),
}


@dataclass
class Attr:
    """One MSON attribute: `name` (required|optional, type, nullable, fixed-type)."""

    name: str
    type: str = "string"
    required: bool = False
    nullable: bool = False
    members: list[str] = field(default_factory=list)  # enum members
    children: dict[str, Attr] = field(default_factory=dict)  # inline object attributes


@dataclass
class Structure:
    name: str
    kind: str  # object | array | enum | link | unknown
    attrs: dict[str, Attr] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (text, file, anchor)
    prose: str = ""


@dataclass
class Endpoint:
    file: str  # path under contracts/, e.g. v2/transactions.md
    path: str  # /api/v2/awards/{award_id}/
    method: str
    request: dict[str, Attr] = field(default_factory=dict)
    params: dict[str, Attr] = field(default_factory=dict)
    responses: list[Attr] = field(default_factory=list)  # alternatives, as pseudo-attributes


class Blueprint:
    """One contract file: its endpoints and its data structures."""

    def __init__(self, rel: str, text: str):
        self.file = rel
        self.endpoints: list[Endpoint] = []
        self.structures: dict[str, Structure] = {}
        _parse(self, text)


# ---- parsing ---------------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,4})\s+(.*?)\s*$")
_BULLET = re.compile(r"^(\s*)[+*-]\s+(.*)$")
_RESOURCE = re.compile(r"\[(/api/[^\]\s]*?)(\{\?[^}]*\})?\]")
_KIND = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)#]*)#?([^)]*)\)")
_WORDS = {"required", "optional", "nullable", "fixed-type", "fixed", "sample", "default"}


def _nodes(lines: list[str]) -> list[dict[str, Any]]:
    """Bullet lines as a tree by indentation (prose lines are kept as `text` of the node)."""
    root: dict[str, Any] = {"indent": -1, "text": "", "children": [], "prose": []}
    stack = [root]
    for line in lines:
        m = _BULLET.match(line)
        if not m:
            if line.strip():
                stack[-1]["prose"].append(line.strip())
            continue
        node = {"indent": len(m.group(1).expandtabs(4)), "text": m.group(2).strip(),
                "children": [], "prose": []}
        while stack[-1]["indent"] >= node["indent"]:
            stack.pop()
        stack[-1]["children"].append(node)
        stack.append(node)
    return root["children"]


def _split_top(spec: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in spec:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _attr(node: dict[str, Any]) -> Attr | None:
    text = node["text"]
    m = re.match(r"`([^`]+)`(.*)$", text)
    if not m:
        return None
    name, rest = m.group(1), re.sub(r"`[^`]*`", "", m.group(2))
    a = Attr(name)
    spec = re.search(r"\(([^()]*)\)", rest)
    if spec:
        types = []
        for part in _split_top(spec.group(1)):
            word = part.strip().lower()
            if word == "required":
                a.required = True
            elif word == "nullable":
                a.nullable = True
            elif word not in _WORDS and word:
                types.append(part.strip())
        if types:
            a.type = types[0]
    for child in node["children"]:
        head = child["text"]
        if head.startswith("Members"):
            a.members = [_plain(c["text"]) for c in child["children"]]
        elif head.startswith("Default"):
            continue
        else:
            sub = _attr(child)
            if sub is not None:
                a.children[sub.name] = sub
    return a


def _plain(text: str) -> str:
    m = re.match(r"[`\"]([^`\"]*)[`\"]", text)
    return m.group(1) if m else text.split()[0]


def _parse(bp: Blueprint, text: str) -> None:
    lines = text.splitlines()
    structures_only = not any(_RESOURCE.search(line) for line in lines if line.startswith("#"))
    sections: list[tuple[int, str, list[str]]] = []
    for line in lines:
        h = _HEADING.match(line)
        if h and not line.startswith("    "):
            sections.append((len(h.group(1)), h.group(2), []))
        elif sections:
            sections[-1][2].append(line)
    path, in_structures, current, level = "", structures_only, None, 0
    for depth, title, body in sections:
        res = _RESOURCE.search(title)
        if res and not in_structures:
            path = res.group(1)
            query = res.group(2)
            bp._query = [q.strip() for q in query[2:-1].split(",")] if query else []
            continue
        if title.strip().lower() == "data structures":
            in_structures = True
            continue
        if not in_structures and title in ("GET", "POST", "PUT", "DELETE"):
            bp.endpoints.append(_endpoint(bp, path, title, body))
            continue
        if not in_structures:
            continue
        if structures_only and depth == 1:
            current = None  # the document's title
            continue
        kind_m = _KIND.match(title)
        if kind_m and re.fullmatch(r"object|array|enum\[.*\]|enum", kind_m.group(2).strip()):
            name, kind = kind_m.group(1).strip(), kind_m.group(2).strip()
            current = Structure(name, "enum" if kind.startswith("enum") else kind)
            bp.structures[name] = current
            level = depth
        elif current is not None and depth > level:
            pass  # a sub-heading (### Sample, #### Base fields) of the current structure
        else:
            name = title.strip()
            current = Structure(name, "unknown")
            bp.structures[name] = current
            bp.structures.setdefault(_slug(name), current)
            level = depth
        _fill(current, body)


def _fill(s: Structure, body: list[str]) -> None:
    s.prose += " ".join(line.strip() for line in body if not _BULLET.match(line)) + " "
    for text, target, anchor in _LINK.findall("\n".join(body)):
        if target.endswith(".md"):
            s.links.append((text, target, anchor))
    for node in _nodes(body):
        a = _attr(node)
        if s.kind == "array" or (a is None and node["text"][:1] in "`\""):
            s.members.append(_plain(node["text"]))
        elif a is not None and s.kind != "array":
            if node["text"].startswith("`") and not re.search(r"\(", node["text"]) and \
                    s.kind == "unknown" and not node["children"]:
                s.members.append(a.name)
            else:
                s.attrs[a.name] = a
    if s.kind in ("unknown", "object") and not s.attrs and s.links:
        s.kind = "link"
    elif s.kind == "unknown" and s.attrs:
        s.kind = "object"


def _endpoint(bp: Blueprint, path: str, method: str, body: list[str]) -> Endpoint:
    ep = Endpoint(bp.file, path, method)
    for q in getattr(bp, "_query", []):
        ep.params[q] = Attr(q, required=True)
    for node in _nodes(body):
        head = node["text"]
        if head.startswith("Request"):
            for child in node["children"]:
                if child["text"].startswith("Attributes"):
                    ep.request.update(_attr_block(child))
                elif child["text"].startswith("Parameters"):
                    ep.params.update(_attr_block(child))
        elif head.startswith("Parameters"):
            ep.params.update(_attr_block(node))
        elif head.startswith("Response 200"):
            for child in node["children"]:
                if child["text"].startswith("Attributes"):
                    kind = re.search(r"\(([^()]*)\)", child["text"])
                    name = kind.group(1).strip() if kind else "object"
                    ep.responses.append(Attr("response", name if name != "object" else "object",
                                             required=True, children=_attr_block(child)))
    return ep


def _attr_block(node: dict[str, Any]) -> dict[str, Attr]:
    out = {}
    for child in node["children"]:
        a = _attr(child)
        if a is not None:
            out[a.name] = a
    return out


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


# ---- the set of contracts --------------------------------------------------------------------

class Contracts:
    """Every contract file under `root`, with name resolution across files."""

    def __init__(self, root: Path = CONTRACTS):
        self.root = root
        self.files: dict[str, Blueprint] = {}
        for path in sorted(root.rglob("*.md")):
            rel = path.relative_to(root).as_posix()
            if rel == "SOURCE.md":
                continue
            self.files[rel] = Blueprint(rel, path.read_text(encoding="utf-8"))
        self.endpoints = [ep for bp in self.files.values() for ep in bp.endpoints]

    def endpoint(self, method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
        """The contract endpoint serving `method path`, and its path parameters."""
        # literal paths before templates: awards/last_updated/ is not awards/{award_id}/
        for ep in sorted(self.endpoints, key=lambda e: e.path.count("{")):
            if ep.method != method:
                continue
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(ep.path))
            m = re.fullmatch(pattern, path)
            if m:
                return ep, m.groupdict()
        return None

    def structure(self, file: str, name: str) -> Structure | None:
        """A named structure as seen from `file`, following links to other files."""
        s = self.files[file].structures.get(name)
        if s is None or s.kind not in ("link", "unknown") or not s.links:
            return s
        merged = Structure(name, "object")
        for text, target, anchor in s.links:
            other_file = (Path(file).parent / target).as_posix() if target else file
            other_file = _normalise(other_file)
            if other_file not in self.files:
                continue
            other = self.structure(other_file, text) or \
                self.files[other_file].structures.get(anchor)
            if other is None:
                continue
            for k, a in other.attrs.items():
                if k in merged.attrs:  # alternatives: the union of members
                    merged.attrs[k].members = sorted(set(merged.attrs[k].members) | set(a.members))
                else:
                    merged.attrs[k] = Attr(a.name, a.type, a.required, a.nullable,
                                           list(a.members), dict(a.children))
            merged.members += other.members
        if not merged.attrs and not merged.members:
            return Structure(name, "unknown")
        # "The only difference is that the `keywords` and `award_type_codes` filters are not
        # required." (spending_by_transaction_count.md)
        for sentence in re.split(r"(?<=\.)\s", s.prose):
            if "not required" in sentence:
                for k in re.findall(r"`([^`]+)`", sentence):
                    if k in merged.attrs:
                        merged.attrs[k].required = False
        return merged

    # ---- checking ------------------------------------------------------------------------
    def check(self, file: str, value: Any, type_: str, where: str, *, nullable: bool = False,
              members: list[str] | None = None, children: dict[str, Attr] | None = None,
              rows_subset: bool = False) -> list[str]:
        """Problems of `value` against a contract type ([] when it conforms)."""
        t = type_.strip()
        override = _server_code(file, where)
        if override:
            t = re.sub(r",\s*nullable\s*$", "", override[0]).strip()
            nullable = nullable or override[0].rstrip().endswith("nullable")
            members = None  # the server code's values, checked by the handler
            alternatives = _type_args(t)[1] if t.startswith("enum[") else []
            if alternatives and value is not None:  # e.g. a number or a string
                ok = any(not self.check(file, value, a, "", nullable=nullable)
                         for a in alternatives)
                return [] if ok else [f"{where}: {value!r} is not any of {alternatives}"]
        if value is None:
            return [] if nullable else [f"{where}: null where the contract requires a value"]
        base, args = _type_args(t)
        if children:
            return self._check_object(file, value, children or {}, where, rows_subset)
        if base == "string":
            if not isinstance(value, str):
                return [f"{where}: {value!r} is not a string"]
            return [] if not members or value in members else \
                [f"{where}: {value!r} is not one of {members}"]
        if base == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            return [] if ok else [f"{where}: {value!r} is not a number"]
        if base == "boolean":
            return [] if isinstance(value, bool) else [f"{where}: {value!r} is not a boolean"]
        if base == "object":
            return [] if isinstance(value, dict) else [f"{where}: {value!r} is not an object"]
        if base == "array":
            if not isinstance(value, list):
                return [f"{where}: {value!r} is not an array"]
            problems: list[str] = []
            for i, item in enumerate(value):
                problems += self._any_of(file, item, args or ["string"], f"{where}[]",
                                         members, rows_subset)
                if problems:
                    return [p.replace(f"{where}[]", f"{where}[{i}]", 1) for p in problems]
            return []
        if base == "enum":
            if args in (["string"], ["number"]):
                return self.check(file, value, args[0], where, members=members)
            return self._any_of(file, value, args, where, members, rows_subset)
        s = self.structure(file, t)
        if s is None or s.kind in ("unknown", "link"):
            return []  # defined only in prose the contracts do not pin down
        if s.kind == "object":
            return self._check_object(file, value, s.attrs, where, rows_subset)
        if s.kind == "array":
            if not isinstance(value, list):
                return [f"{where}: {value!r} is not an array"]
            bad = [v for v in value if not isinstance(v, str) or (s.members and v not in
                                                                   s.members)]
            return [f"{where}: {bad[0]!r} is not one of the contract's values"] if bad else []
        if s.kind == "enum":
            return [] if isinstance(value, str) else [f"{where}: {value!r} is not a string"]
        return []

    def _any_of(self, file: str, value: Any, types: list[str], where: str,
                members: list[str] | None, rows_subset: bool) -> list[str]:
        first: list[str] = []
        for t in types:
            problems = self.check(file, value, t, where, members=members,
                                  rows_subset=rows_subset)
            if not problems:
                return []
            first = first or problems
        return first

    def _check_object(self, file: str, value: Any, attrs: dict[str, Attr], where: str,
                      rows_subset: bool) -> list[str]:
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        problems = [f"{where}.{k}: not a field of the contract" for k in value
                    if k not in attrs and _server_code(file, f"{where}.{k}") is None]
        if not rows_subset:
            problems += [f"{where}.{k}: required by the contract, missing"
                         for k, a in attrs.items() if a.required and k not in value]
        for k, v in value.items():
            a = attrs.get(k) or (Attr(k) if _server_code(file, f"{where}.{k}") else None)
            if a is not None:
                problems += self.check(file, v, a.type, f"{where}.{k}", nullable=a.nullable,
                                       members=a.members or None,
                                       children=a.children or None, rows_subset=False)
        return problems

    def check_request(self, ep: Endpoint, body: Any) -> list[str]:
        return self._check_object(ep.file, body if body is not None else {}, ep.request,
                                  f"{ep.file}:", False)

    def check_response(self, ep: Endpoint, body: Any, rows_subset: bool = False) -> list[str]:
        """Against any of the documented 200 responses. `rows_subset`: result rows hold only
        the requested fields (search endpoints), so required-ness is not checked in them."""
        first: list[str] = []
        for resp in ep.responses:
            if resp.children:
                problems = self._check_object(ep.file, body, resp.children, f"{ep.file}:",
                                              False)
            else:
                problems = self.check(ep.file, body, resp.type, f"{ep.file}:")
            if rows_subset:
                problems = [p for p in problems if not self._requested_row_field(ep, p)]
            if not problems:
                return []
            first = first or problems
        return first

    def _requested_row_field(self, ep: Endpoint, problem: str) -> bool:
        """Search rows hold exactly the requested `fields` (plus the ids), which the contract
        lists in the request's field-name array, not all in the row object."""
        m = re.search(r"\.results\[\d+\]\.(.+?): (not a field|required)", problem)
        if not m:
            return False
        if m.group(2) == "required":
            return True
        fields = ep.request.get("fields")
        s = self.structure(ep.file, fields.type) if fields else None
        return bool(s and m.group(1) in s.members)

    def skeleton(self, file: str, type_: str) -> Any:
        """A value of the type with every required field present: null where nullable, else
        an empty value of its type (filled in by the server with what it knows)."""
        s = self.structure(file, type_)
        if s is None or s.kind != "object":
            base = _type_args(type_)[0]
            return {"number": 0, "boolean": False, "array": [], "object": {}}.get(base, "")
        out: dict[str, Any] = {}
        for k, a in s.attrs.items():
            if not a.required:
                continue
            if a.nullable:
                out[k] = None
            elif a.children:
                out[k] = {}
            else:
                out[k] = self.skeleton(file, a.type)
        return out


def _server_code(file: str, where: str) -> tuple[str, str] | None:
    """The SERVER_CODE entry for a field path such as `v2/x.md:.filters.time_period[0].a`."""
    return SERVER_CODE.get((file, re.sub(r"\[\d*\]", "", where.split(":", 1)[-1]).lstrip(".")))


def _normalise(path: str) -> str:
    parts: list[str] = []
    for p in path.split("/"):
        if p == "..":
            if parts:
                parts.pop()
        elif p not in ("", "."):
            parts.append(p)
    rel = "/".join(parts)
    # the contracts link to ../../../search_filters.md from v2/<folder>/
    return rel if not rel.endswith("search_filters.md") else "search_filters.md"


def _type_args(t: str) -> tuple[str, list[str]]:
    m = re.fullmatch(r"\s*([\w -]+?)\s*\[(.*)\]\s*", t)
    if not m:
        return t.strip(), []
    return m.group(1).strip(), _split_top(m.group(2))


@cache
def contracts() -> Contracts:
    return Contracts()


__all__ = ["Attr", "Contracts", "Endpoint", "SERVER_CODE", "contracts"]
