"""Files in the layouts USAspending serves today, built from the official column lists
(tests/data/official) and filled with real ICE rows of the 2018 download (../shared/data).

Used where no real public sample of a layout exists: the header is exactly the official one,
the values are real, and the keys are built here by USAspending's rule, independently of the
project's code. Expected figures are computed from these rows with the csv module.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from tests.conftest import FPDS
from tests.plain import read_rows

OFFICIAL = Path(__file__).parent / "data" / "official"


def official_columns(name: str) -> list[str]:
    return (OFFICIAL / f"{name}.txt").read_text(encoding="utf-8").split()


def iso_day(text: str) -> str:
    """The 2018 file's day-first `dd/mm/yy hh:mm` or `dd/mm/yyyy` as today's ISO day."""
    day = text.split()[0]
    return datetime.strptime(day, "%d/%m/%Y" if len(day) == 10 else "%d/%m/%y").date(
    ).isoformat()


def award_key(row: dict[str, str]) -> str:
    """USAspending's award key (CONT_AWD_<piid>_<agency>_<parent piid>_<parent agency>)."""
    if row["award_or_idv_flag"] == "IDV":
        return f"CONT_IDV_{row['award_id_piid']}_{row['awarding_sub_agency_code']}"
    return (f"CONT_AWD_{row['award_id_piid']}_{row['awarding_sub_agency_code']}_"
            f"{row['parent_award_id_piid'] or '-NONE-'}_"
            f"{row['parent_award_agency_id'] or '-NONE-'}")


def transaction_key(row: dict[str, str]) -> str:
    return "_".join([row["awarding_sub_agency_code"], row["parent_award_agency_id"] or "-NONE-",
                     row["award_id_piid"], row["modification_number"] or "-NONE-",
                     row["parent_award_id_piid"] or "-NONE-",
                     row["transaction_number"] or "-NONE-"])


def todays_rows(limit: int, year: int = 2017) -> list[dict[str, str]]:
    """Real ICE rows in today's transaction columns: ISO days, timestamps as today's files
    write them, keys as USAspending builds them."""
    out = []
    for source in read_rows(FPDS / f"ice_fy{year}.csv")[:limit]:
        row = {c: source.get(c, "") for c in official_columns("transaction_contracts")}
        row["parent_award_id_piid"] = source["parent_award_id"]
        row["transaction_description"] = source["award_description"]
        for column in ("action_date", "period_of_performance_start_date",
                       "period_of_performance_current_end_date",
                       "period_of_performance_potential_end_date", "ordering_period_end_date"):
            if row[column]:
                row[column] = iso_day(row[column])
        row["last_modified_date"] = f"{row['action_date']} 09:31:45+00"
        row["initial_report_date"] = f"{row['action_date']} 17:02:11.5+00"
        row["action_date_fiscal_year"] = source["fiscal_year"]
        row["contract_award_unique_key"] = award_key(row)
        row["contract_transaction_unique_key"] = transaction_key(row)
        out.append(row)
    return out


def subaward_report(number: str, who: str, amount: str, month: int, *, prime: str,
                    year: int, **more: str) -> dict[str, str]:
    """One report of the official subaward layout (every column, most empty) about subaward
    `number` to `who` under the prime award key `prime`, filed in `month` of `year`."""
    row = {c: "" for c in official_columns("subaward_contracts")}
    row.update(prime_award_unique_key=prime, prime_award_piid=prime.split("_")[2],
               prime_award_awarding_agency_code="070",
               subaward_sam_report_id=f"{number}-{month}", subaward_sam_report_year=str(year),
               subaward_sam_report_month=str(month),
               subaward_sam_report_last_modified_date=f"{year}-{month:02d}-15 10:00:00+00",
               subaward_number=number, subaward_amount=amount,
               subaward_action_date=f"{year}-01-10", subawardee_name=who, **more)
    return row


def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path
