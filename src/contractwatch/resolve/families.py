"""Curated corporate families: a YAML file of links, each with the source that states it.

The data's own parent fields are trusted first; these links fill the gaps (the USAspending
API export has no parent columns at all) and chain stale parents to today's group (FPDS still
calls Leidos' parent "SAIC INC."). Users add their own file with the same format; later files
win over earlier ones for the same member.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from contractwatch.resolve.names import match_key, org_key

__all__ = ["FamilyLink", "Families", "load_families", "BUILTIN"]

BUILTIN = "builtin:families.yaml"


@dataclass(frozen=True)
class FamilyLink:
    """Why one recipient belongs to one curated family."""

    family_id: str
    family_name: str
    rule: str  # e.g. "name_prefix=PERATON"
    source: str
    statement: str
    date: str | None
    checked: str | None
    file: str


@dataclass
class Families:
    """Lookup tables built from one or more families files."""

    by_duns: dict[str, FamilyLink] = field(default_factory=dict)
    by_uei: dict[str, FamilyLink] = field(default_factory=dict)
    by_name: dict[str, FamilyLink] = field(default_factory=dict)
    by_match: dict[str, FamilyLink] = field(default_factory=dict)
    # first word of the prefix → [(prefix words, link)], longest prefix first
    by_prefix: dict[str, list[tuple[tuple[str, ...], FamilyLink]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # family_id → family name

    def lookup(
        self, name: str | None, duns: str | None = None, uei: str | None = None
    ) -> FamilyLink | None:
        """The curated family of a recipient, or None. Identifiers beat names."""
        if uei and uei in self.by_uei:
            return self.by_uei[uei]
        if duns and duns in self.by_duns:
            return self.by_duns[duns]
        if not name:
            return None
        link = self.by_name.get(org_key(name)) or self.by_match.get(match_key(name))
        if link:
            return link
        words = tuple(match_key(name).split())
        if not words:
            return None
        for prefix, link in self.by_prefix.get(words[0], []):
            if words[: len(prefix)] == prefix:
                return link
        return None


def _read(path: str | Path) -> tuple[dict[str, Any], str]:
    import yaml

    if str(path) == BUILTIN:
        text = resources.files("contractwatch.data").joinpath("families.yaml").read_text()
        return yaml.safe_load(text) or {}, BUILTIN
    p = Path(path).expanduser()
    return yaml.safe_load(p.read_text()) or {}, str(p)


def load_families(*paths: str | Path, builtin: bool = True) -> Families:
    """Build lookups from the shipped starter set (unless builtin=False) plus user files.

    Each family needs ``id``, ``name``, ``members`` and ``source``; a member without any of
    ``name``/``name_prefix``/``duns``/``uei`` is an error, so typos do not pass silently.
    """
    from contractwatch.values.ids import pad_duns

    fams = Families()
    sources: list[str | Path] = ([BUILTIN] if builtin else []) + list(paths)
    for path in sources:
        doc, label = _read(path)
        for fam in doc.get("families") or []:
            for key in ("id", "name", "members", "source"):
                if not fam.get(key):
                    raise ValueError(f"{label}: family {fam.get('id')!r} lacks {key!r}")
            fams.names[fam["id"]] = fam["name"]
            for member in fam["members"]:
                rules = {
                    k: v for k, v in member.items() if k in ("name", "name_prefix", "duns", "uei")
                }
                if not rules:
                    raise ValueError(f"{label}: member {member!r} of {fam['id']} has no rule")
                rule = " ".join(f"{k}={v}" for k, v in rules.items())
                link = FamilyLink(
                    family_id=fam["id"],
                    family_name=fam["name"],
                    rule=rule,
                    source=member.get("source") or fam["source"],
                    statement=member.get("statement") or fam.get("statement") or "",
                    date=str(member.get("date") or fam.get("date") or "") or None,
                    checked=str(fam.get("checked")) if fam.get("checked") else None,
                    file=label,
                )
                if "uei" in rules:
                    fams.by_uei[str(rules["uei"]).strip().upper()] = link
                if "duns" in rules:
                    fams.by_duns[pad_duns(str(rules["duns"])) or ""] = link
                if "name" in rules:
                    fams.by_name[org_key(str(rules["name"]))] = link
                    fams.by_match[match_key(str(rules["name"]))] = link
                if "name_prefix" in rules:
                    words = tuple(match_key(str(rules["name_prefix"])).split())
                    bucket = fams.by_prefix.setdefault(words[0], [])
                    bucket[:] = [(p, lk) for p, lk in bucket if p != words]
                    bucket.append((words, link))
                    bucket.sort(key=lambda item: -len(item[0]))
    return fams
