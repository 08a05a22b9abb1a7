"""Build tests/data/labelled_pairs.csv from the shared real data (run by hand, output committed).

Labels never come from contractwatch code:
- ``duns-same``: FPDS rows whose recipient (or same-DUNS parent) names differ but the DUNS is
  the same -> one registration spelled two ways ("same"). Pairs that are renames rather than
  spellings (ATK SPORTING GROUP -> VISTA OUTDOOR) are kept but marked ``kind=renamed``.
- ``duns-differ``: names sharing their first word whose DUNS *and* parent DUNS differ ->
  different organisations ("different").
- ``hand``: pairs picked and labelled by a person from the USAspending exports (no ids there),
  with the reason in ``note``; they hold the hard cases of DEPENDENCIES.md.
Sole proprietors (sole_proprietorship = t) are left out: natural persons are never matched.
Every name is checked to occur in ../shared/data.

    .venv/bin/python tests/data/build_labelled_pairs.py
"""

from __future__ import annotations

import csv
import glob
import re
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
OUT = Path(__file__).with_name("labelled_pairs.csv")

# Same DUNS, different names that are renames or other registrations' names, not spellings.
RENAMED = {
    ("ATK SPORTING GROUP LLC", "VISTA OUTDOOR SALES LLC"),
    ("ALLCLEAR ID, INC.", "DEBIX ONE  INC"),
    ("ALLCLEAR ID, INC.", "DEBIX ONE INC"),
    ("JOHNSON CONTROLS SECURITY SOLUTIONS LLC", "TYCO INTEGRATED SECURITY LLC"),
    ("COMFORT SUITES HOTEL", "HARIOM INC."),
    ("ACCESS PRODUCTS, INC", "IMAGING SYSTEMS LLC"),
    ("MOTOROLA INCORPORATED", "MOTOROLA SOLUTIONS, INC."),
    ("ISYS  LLC", "WIDEPOINT INTEGRATED SOLUTIONS CORP."),
    ("ISYS, LLC", "WIDEPOINT INTEGRATED SOLUTIONS CORP."),
    ("ECS FEDERAL, LLC", "ELECTRONIC CONSULTING SERVICES  INC."),
    ("ECS FEDERAL, LLC", "ELECTRONIC CONSULTING SERVICES INC."),
    ("MANGI ENVIRONMENTAL GROUP  INC.", "SOLV LLC"),
    ("MANGI ENVIRONMENTAL GROUP INC.", "SOLV LLC"),
    ("INTEGRATED PARCEL NETWORK", "PACIFIC COURIER INC"),
    ("FS VETS LLP", "V3 GATE TEAM, LLP"),
    ("ABACUS-N-BYTES INC.", "TCS INTERPRETING, INC."),
    ("FOSTER & LEVESQUE LLC", "PERFECT FIT"),
    ("AUTOCLEAR LLC", "CONTROL SCREENING L.L.C"),
    ("PEOPLE SIGNS", "PMA-13, INC."),
    ("UTAH COMMUNICATION AGENCY NETWORK", "UTAH COMMUNICATIONS AUTHORITY"),
    ("SERCO SERVICES INC.", "SI INTERNATIONAL INCORPORATED (7278)"),
    ("GREENZONE SOLUTIONS, INC.", "SHAH GROUP INC THE"),
    ("INTEGRITYONE PARTNERS INC.", "PRIZUM INC"),
    ("CXOWARE INC.", "RISKLENS, INC."),
    ("NETCLEAN TECHNOLOGIES SWEDEN AB", "SAFER SOCIETY GROUP SWEDEN AB"),
    ("BASHEN CORPORATION", "S J BASHEN INC"),
    ("U S  GOVERNMENT CONSULTING GRO", "USGC  INC."),
    ("VARNER MILLER ASSOCIATES", "VARNERMILLER  LLC"),
}

# More renames among same-DUNS pairs, as (substring of one name, substring of the other).
RENAMED_PARTS = [
    ("MACRO COMPANIES", "MACRO OIL"),
    ("ICS JAIL", "JCT"),
    ("INN ON BOURBON", "SPRINGFIELD"),
    ("KYOCERA DOCUMENT", "KYOCERA MITA"),
    ("OWYHEE CAPITAL", "OWYHEE GROUP"),
    ("RIGAKU ANALYTICAL", "RIGAKU RAMAN"),
    ("ADVANCED TACTICAL", "UNITED TACTICAL"),
    ("NETCOM INFORMATION", "NETCOM LEARNING"),
    ("ADC LTD", "CORDOVA"),
    ("L 3 COMMUNICATIONS", "L3 TECHNOLOGIES"),
    ("CLOUDBURST", "JERAL"),
    ("ARMOR EXPRESS", "CENTRAL LAKE ARMOR"),
    ("MMI OUTDOOR", "MONTGOMERY MARKETING"),
    ("PREMIER", "PREMIER SUPPLIES USA"),
    ("V3GATE", "VETERANS TECH"),
    ("ALLIED INK", "MY TONER"),
    ("WITMER ASSOCIATES", "WITMER PUBLIC"),
    ("FREEMAN DECORATING", "FREEMAN EXPOSITIONS"),
    ("NATIONAL 9/11", "NATIONAL SEPTEMBER 11"),
    ("NATIONAL 9-11", "NATIONAL SEPTEMBER 11"),
    ("NATIONAL 9 11", "NATIONAL SEPTEMBER 11"),
    ("CELLEBRITE", "CELLEBRITE USA"),
]
# Same-DUNS pairs that involve a natural person's name: never matched, never labelled.
PERSON_NAMES = ("GARRET P DEMOTT", "PAT V", "MACK, PAT", "MACK PAT")

HAND_SAME = [
    ("THE GEO GROUP, INC.", "GEO GROUP INC., THE", "article moved to the end"),
    ("THE GEO GROUP, INC.", "THE GEO GROUP INCORPORATED", "INC vs INCORPORATED"),
    ("GEO GROUP, INC., THE", "THE GEO GROUP, INC.", "article moved"),
    ("MVM, INC.", "M V M, INC.", "spaced initials"),
    ("MVM, INC.", "MVM INCORPORATED", "legal form"),
    ("M V M, INC.", "MVM INCORPORATED", "spaced initials + legal form"),
    ("CACI, INC. - FEDERAL", "CACI INC - FEDERAL", "punctuation"),
    ("CARAHSOFT TECHNOLOGY CORP", "CARAHSOFT TECHNOLOGY CORPORATION", "CORP vs CORPORATION"),
    ("CARAHSOFT TECHNOLOGY CORP.", "CARAHSOFT TECHNOLOGY CORP", "dot"),
    ("G4S SECURE SOLUTIONS (USA) INC", "G4S SECURE SOLUTIONS (USA) INC.", "dot"),
    (
        "GENERAL DYNAMICS INFORMATION TECHNOLOGY, INC.",
        "GENERAL DYNAMICS INFORMATION TECHNOLOGY INC.",
        "comma",
    ),
    ("GENERAL DYNAMICS MISSION SYSTEMS, INC", "GENERAL DYNAMICS MISSION SYSTEMS, INC.", "dot"),
    ("GOVPLACE", "GOVPLACE, LLC", "legal form missing"),
    ("LEIDOS, INC.", "LEIDOS INC", "punctuation"),
    ("LOCKHEED MARTIN CORP", "LOCKHEED MARTIN CORPORATION", "CORP vs CORPORATION"),
    ("PEN-LINK, LIMITED", "PEN-LINK, LTD", "LIMITED vs LTD"),
    ("PEN-LINK, LTD.", "PEN-LINK, LIMITED", "LIMITED vs LTD."),
    (
        "SCIENCE APPLICATIONS INTERNATIONAL CORP",
        "SCIENCE APPLICATIONS INTERNATIONAL CORPORATION",
        "CORP",
    ),
    ("SMITHS DETECTION INC.", "SMITHS DETECTION, INC.", "comma"),
    ("SPRINT COMMUNICATIONS CO LP", "SPRINT COMMUNICATIONS COMPANY L.P.", "CO LP vs COMPANY L.P."),
    ("IMMIXTECHNOLOGY INC", "IMMIXTECHNOLOGY, INC.", "punctuation"),
    ("DELL FEDERAL SYSTEMS L.P", "DELL FEDERAL SYSTEMS L.P.", "dot"),
    ("CELLEBRITE INC", "CELLEBRITE INC.", "dot"),
    ("WIDEPOINT INTEGRATED SOLUTIONS CORP", "WIDEPOINT INTEGRATED SOLUTIONS CORP.", "dot"),
    ("NET DIRECT SYSTEMS, LLC", "NET DIRECT SYSTEMS  LLC", "two spaces (issue 4)"),
    ("NET DIRECT SYSTEMS  LLC", "NET DIRECT SYSTEMS LLC", "two spaces (issue 4)"),
    ("CELLCO PARTNERSHIP", "CELLCO PARTNERSHIP DBA VERIZON WIRELESS", "d/b/a appended"),
    ("FOUR POINTS TECHNOLOGY, L.L.C.", "FOUR POINTS TECHNOLOGY L.L.C.", "comma"),
    ("THUNDERCAT TECHNOLOGY, LLC", "THUNDERCAT TECHNOLOGY  LLC", "spacing"),
    ("BOOZ ALLEN HAMILTON INC.", "BOOZ ALLEN HAMILTON INC", "dot"),
    ("ISS ACTION INC", "I S S ACTION INC", "spaced initials"),
    ("LEIDOS INC", "LEIDOS, INC.", "punctuation"),
    ("CORECIVIC, INC.", "CORRECTIONS CORPORATION OF AMERICA", "renamed 2016 (kind=renamed)"),
    ("RELX INC.", "REED ELSEVIER, INC.", "renamed 2015 (kind=renamed)"),
]

HAND_DIFFERENT = [
    ("GEO-MED, LLC", "THE GEO GROUP, INC.", "GEO-MED is a medical supplier, not GEO Group"),
    ("GEO MED LIMITED LIABILITY COMPANY", "GEO GROUP INC., THE", "GEO-MED vs GEO Group"),
    ("GEO CARE LLC", "THE GEO GROUP, INC.", "subsidiary: same family, other entity"),
    ("GEO TRANSPORT, INC.", "THE GEO GROUP, INC.", "subsidiary"),
    ("GEO INTERNATIONAL LLC", "GEO-MED, LLC", "unrelated"),
    ("PALANTIR USG, INC.", "PALANTIR TECHNOLOGIES INC.", "subsidiary (DEPENDENCIES.md)"),
    ("DELOITTE CONSULTING LLP", "DELOITTE & TOUCHE LLP", "sister firms"),
    ("DELOITTE CONSULTING LLP", "DELOITTE FINANCIAL ADVISORY SERVICES LLP", "sister firms"),
    ("DELL FEDERAL SYSTEMS L.P", "DELL MARKETING L.P.", "two registrations of one family"),
    (
        "DELL FEDERAL SYSTEMS L.P",
        "DELL FEDERAL SYSTEMS GP LLC",
        "general partner is another entity",
    ),
    ("ERNST & YOUNG LLP", "CAP GEMINI ERNST AND YOUNG U.S", "Capgemini bought E&Y consulting"),
    (
        "CAPGEMINI GOVERNMENT SOLUTIONS LLC",
        "CAP GEMINI ERNST AND YOUNG U.S",
        "same family, other entity",
    ),
    ("HARRIS CORPORATION", "HARRIS & STEWART ELECTRICAL INC.", "unrelated"),
    ("HARRIS CORPORATION", "A&A HARRIS ENTERPRISES", "unrelated"),
    ("HARRIS CORPORATION", "HARRIS IT SERVICES CORPORATION", "subsidiary"),
    ("L3 TECHNOLOGIES, INC.", "L3HARRIS TECHNOLOGIES, INC.", "merged into; other entity"),
    ("AKIMA GLOBAL SERVICES, LLC", "AKIMA INFRASTRUCTURE PROTECTION LLC", "sister subsidiaries"),
    ("AKIMA DATA MANAGEMENT LLC", "AKIMA GLOBAL SERVICES, LLC", "sister subsidiaries"),
    ("CACI NSS, LLC", "CACI, INC. - FEDERAL", "sister subsidiaries"),
    ("CACI-ISS, INC.", "CACI, INC. - FEDERAL", "sister subsidiaries"),
    ("CACI IDT, LLC", "CACI NSS, LLC", "sister subsidiaries"),
    ("PERATON INC.", "PERATON RISK DECISION INC.", "subsidiary"),
    ("PERATON ENTERPRISE SOLUTIONS LLC", "PERATON TECHNOLOGY SERVICES INC.", "sister subsidiaries"),
    (
        "PERATON SERVICES & SOLUTIONS INC.",
        "PERATON ENTERPRISE SOLUTIONS LLC",
        "sister subsidiaries",
    ),
    (
        "GENERAL DYNAMICS ONE SOURCE LLC",
        "GENERAL DYNAMICS INFORMATION TECHNOLOGY, INC.",
        "other entity",
    ),
    (
        "GENERAL DYNAMICS - OTS, INC.",
        "GENERAL DYNAMICS MISSION SYSTEMS, INC.",
        "sister subsidiaries",
    ),
    (
        "GENERAL DYNAMICS ORDNANCE AND TACTICAL SYSTEMS - SIMUNITION OPERATIONS, INC.",
        "GENERAL DYNAMICS - OTS, INC.",
        "other entity",
    ),
    ("SLSCO, LTD.", "SLS FEDERAL SERVICES LLC", "different registrations"),
    ("FOUR LLC", "FOUR POINTS TECHNOLOGY, L.L.C.", "unrelated; shared first word"),
    ("GRANITE CONSTRUCTION COMPANY", "GRANITE TELECOMMUNICATIONS, LLC", "unrelated"),
    ("GRANITE CONSTRUCTION COMPANY", "GRANITE MOUNTAIN INDUSTRIES, LLC", "unrelated"),
    (
        "BARNARD CONSTRUCTION COMPANY, INCORPORATED",
        "BARNARD SPENCER JOINT VENTURE",
        "joint venture",
    ),
    ("SPENCER CONSTRUCTION LLC", "BARNARD SPENCER JOINT VENTURE", "joint venture"),
    ("BOOZ ALLEN HAMILTON INC", "BOOZ ALLEN HAMILTON ENGINEERING SERVICES LLC", "subsidiary"),
    ("LEIDOS, INC.", "LEIDOS SECURITY DETECTION & AUTOMATION, INC.", "subsidiary"),
    (
        "LOCKHEED MARTIN CORPORATION",
        "LOCKHEED MARTIN AERONAUTICAL SYSTEMS SUPPORT COMPANY",
        "subsidiary",
    ),
    ("LOCKHEED MARTIN CORP", "LOCKHEED MARTIN PROCERUS TECHNOLOGIES, L.C.", "subsidiary"),
    ("NORTHROP GRUMMAN SYSTEMS CORPORATION", "NORTHROP GRUMMAN TECHNICAL SERVICES, INC.", "sister"),
    ("AT&T ENTERPRISES, LLC", "AT&T MOBILITY LLC", "sister subsidiaries"),
    ("AT&T MOBILITY LLC", "AT&T MOBILITY NATIONAL ACCOUNTS LLC", "other entity"),
    ("AT&T TECHNICAL SERVICES COMPANY, INC", "AT&T ENTERPRISES, LLC", "sister subsidiaries"),
    ("VERIZON BUSINESS NETWORK SERVICES LLC", "VERIZON FEDERAL INC.", "sister subsidiaries"),
    ("LEXISNEXIS RISK SOLUTIONS INC", "LEXISNEXIS SPECIAL SERVICES INC", "sister subsidiaries"),
    ("THOMSON REUTERS SPECIAL SERVICES LLC", "WEST PUBLISHING CORPORATION", "same family"),
    ("MANTECH ADVANCED SYSTEMS INTERNATIONAL, INC.", "MANTECH SRS TECHNOLOGIES, INC.", "sister"),
    ("MANTECH M S M SECURITY SERVICE", "MANTECH ADVANCED SYSTEMS INTERNATIONAL, INC.", "sister"),
    ("CHAINALYSIS GOVERNMENT SOLUTIONS, LLC", "CHAINALYSIS INC.", "subsidiary"),
    ("GUIDEHOUSE INC.", "PCI GUIDEHOUSE JV LLC", "joint venture"),
    (
        "SCIENCE APPLICATIONS INTERNATIONAL CORPORATION",
        "SCIENCE AND ENGINEERING SERVICES, LLC",
        "unrelated",
    ),
    ("AMERICAN SCIENCE & ENGINEERING INC", "SCIENCE AND ENGINEERING SERVICES, LLC", "unrelated"),
    (
        "THE JOHNS HOPKINS UNIVERSITY",
        "THE JOHNS HOPKINS UNIVERSITY APPLIED PHYSICS LABORATORY LLC",
        "affiliate",
    ),
    ("EQUIFAX INC", "EQUIFAX WORKFORCE SOLUTIONS LLC", "subsidiary"),
    ("AMAZON WEB SERVICES, INC.", "AMAZON.COM LLC", "sister subsidiaries"),
    ("AMI METALS, INC", "AMI EXPEDITIONARY HEALTHCARE (USA) LLC", "unrelated"),
    ("PARAGON PROFESSIONAL SERVICES LLC", "PARAGON SYSTEMS INC", "unrelated"),
    (
        "GENERAL ATOMICS AERONAUTICAL SYSTEMS, INC.",
        "GENERAL DYNAMICS MISSION SYSTEMS, INC.",
        "unrelated",
    ),
    ("MICROSOFT CORPORATION", "MOTOROLA SOLUTIONS, INC.", "unrelated (easy control)"),
    ("GEO CARE LLC", "GEO-MED, LLC", "unrelated"),
    ("AKIMA GLOBAL SERVICES, LLC", "AKIRA TECHNOLOGIES INC.", "one letter apart, unrelated"),
    ("TRIBALCO LLC", "TRAILBOSS ENTERPRISES, INC.", "unrelated"),
    ("SPECTRUM SECURITY SERVICES, INC.", "S & K SECURITY GROUP LLC", "unrelated"),
    ("LEXISNEXIS SPECIAL SERVICES INC", "THOMSON REUTERS SPECIAL SERVICES LLC", "competitors"),
    ("DELOITTE & TOUCHE LLP", "DELOITTE FINANCIAL ADVISORY SERVICES LLP", "sister firms"),
]

_WS = re.compile(r"\s+")


def _ws(s: str) -> str:
    return _WS.sub(" ", s).strip()


def main() -> None:
    known: set[str] = set()
    byduns: dict[str, set[str]] = defaultdict(set)
    parent_of: dict[str, str] = {}
    first_word: dict[str, dict[str, str]] = defaultdict(dict)
    for f in sorted(glob.glob(str(DATA / "usaspending" / "*" / "*.csv"))):
        with open(f, newline="") as fh:
            known.update(r["Recipient Name"] for r in csv.DictReader(fh))
    for f in sorted(glob.glob(str(DATA / "fpds_full" / "*.csv"))):
        with open(f, newline="") as fh:
            for r in csv.DictReader(fh):
                known.update((r["recipient_name"], r["recipient_parent_name"]))
                if r["sole_proprietorship"] == "t":
                    continue
                duns = r["recipient_duns"].zfill(9)
                byduns[duns].add(r["recipient_name"])
                pduns = (r["recipient_parent_duns"] or "").zfill(9)
                parent_of[duns] = pduns
                if pduns == duns and r["recipient_parent_name"]:
                    byduns[duns].add(r["recipient_parent_name"])
                words = _ws(r["recipient_name"]).split()
                if words and len(words[0]) > 2:
                    first_word[words[0]].setdefault(duns, r["recipient_name"])

    rows: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()

    def add(a: str, b: str, label: str, basis: str, kind: str, note: str) -> None:
        for n in (a, b):
            if n not in known:
                raise SystemExit(f"not in shared data: {n!r}")
        key = tuple(sorted((a, b)))
        if key in seen:
            return
        seen.add(key)  # type: ignore[arg-type]
        rows.append(
            {"name_a": a, "name_b": b, "label": label, "basis": basis, "kind": kind, "note": note}
        )

    trivial = 0
    for duns in sorted(byduns):
        names = sorted(byduns[duns])
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if _ws(a) == _ws(b):
                    continue
                if any(p in a or p in b for p in PERSON_NAMES):
                    continue
                renamed = (a, b) in RENAMED or (b, a) in RENAMED
                for x, y in RENAMED_PARTS:
                    if (x in a and y in b and y not in a) or (x in b and y in a and y not in b):
                        renamed = True
                only_punct = re.sub(r"[^A-Z0-9]", "", a) == re.sub(r"[^A-Z0-9]", "", b)
                if only_punct and not renamed:
                    trivial += 1
                    if trivial % 6:  # keep one in six punctuation-only pairs
                        continue
                add(a, b, "same", f"duns-same:{duns}", "renamed" if renamed else "spelling", "")
    for word in sorted(first_word):
        entries = sorted(first_word[word].items())
        for i, (da, na) in enumerate(entries):
            for db, nb in entries[i + 1 : i + 2]:
                if parent_of.get(da) == parent_of.get(db) or parent_of.get(da) == db:
                    continue
                if parent_of.get(db) == da:
                    continue
                add(na, nb, "different", f"duns-differ:{da}/{db}", "shared-first-word", "")
    for a, b, note in HAND_SAME:
        kind = "renamed" if "renamed" in note else ("control" if a == b else "spelling")
        add(a, b, "same", "hand", kind, note)
    for a, b, note in HAND_DIFFERENT:
        add(a, b, "different", "hand", "hard-negative", note)

    with open(OUT, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["name_a", "name_b", "label", "basis", "kind", "note"])
        w.writeheader()
        w.writerows(rows)
    same = sum(r["label"] == "same" for r in rows)
    print(f"{len(rows)} pairs ({same} same, {len(rows) - same} different) -> {OUT}")


if __name__ == "__main__":
    main()
