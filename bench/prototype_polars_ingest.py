"""How fast could ingest be with Polars doing the normalising? A prototype, not a code path.

    .venv/bin/python bench/prototype_polars_ingest.py CSV [OUT.parquet]

The API-export layout's columns, trimmed and typed (money as DECIMAL(38,2), ISO dates, the
fiscal year, agency names resolved for ICE and CBP, parent ids from the generated award id,
the transaction key, a row hash), streamed from a CSV to snappy Parquet by Polars. It leaves
out what a real load does besides: the per-row checks that name a bad line, the file's
checksum, the duplicate check, the commit, and the store's exact row hash (Polars' hash is
not DuckDB's). So its time is a floor for a Polars-based ingest, to hold against the issue's
target of half Polars' raw CSV→Parquet speed. Compare with bench/bench_ingest.py's file.
"""

from __future__ import annotations

import sys
import time

import polars as pl

AGENCIES = {  # Agency column → sub-tier code, sub-tier name, top-tier code, top-tier name
    "ICE": ("7012", "U.S. Immigration and Customs Enforcement", "070",
            "Department of Homeland Security"),
    "CBP": ("7014", "U.S. Customs and Border Protection", "070",
            "Department of Homeland Security"),
}
RAW = ["Agency", "Award ID", "Recipient Name", "Federal Action Obligation", "Action Date",
       "Modification", "Product/Service Description", "NAICS Description",
       "Transaction Description", "Generated Award ID"]


def agency(index: int) -> pl.Expr:
    return pl.col("Agency").replace_strict({k: v[index] for k, v in AGENCIES.items()},
                                           default=None)


def main(csv: str, out: str) -> None:
    start = time.perf_counter()
    raw = pl.scan_csv(csv, infer_schema=False).with_row_index("source_row", offset=1)
    raw = raw.with_columns([pl.col(c).str.strip_chars() for c in RAW])
    when = pl.col("Action Date").str.to_date("%Y-%m-%d", strict=False)
    parts = pl.col("Generated Award ID").str.split("_")
    rows = raw.select(
        pl.col("Award ID").alias("award_id_piid"),
        pl.col("Recipient Name").alias("recipient_name"),
        pl.col("Federal Action Obligation").cast(pl.Decimal(38, 2), strict=False)
        .alias("federal_action_obligation"),
        when.alias("action_date"),
        pl.col("Modification").alias("modification_number"),
        pl.col("Product/Service Description").alias("product_or_service_code_description"),
        pl.col("NAICS Description").alias("naics_description"),
        pl.col("Transaction Description").alias("transaction_description"),
        agency(0).alias("awarding_sub_agency_code"),
        agency(1).alias("awarding_sub_agency_name"),
        agency(2).alias("awarding_agency_code"),
        agency(3).alias("awarding_agency_name"),
        pl.col("Generated Award ID").alias("contract_award_unique_key"),
        parts.list.get(4, null_on_oob=True).alias("parent_award_id_piid"),
        parts.list.get(5, null_on_oob=True).alias("parent_award_agency_id"),
        pl.lit("AWARD").alias("award_or_idv_flag"),
        (when.dt.year() + (when.dt.month() >= 10).cast(pl.Int32)).alias("fiscal_year"),
        pl.col("source_row"),
    ).with_columns(pl.concat_str([
        pl.col("awarding_sub_agency_code").fill_null(""), pl.col("award_id_piid"),
        pl.col("modification_number"),
        pl.when(pl.col("award_id_piid").str.len_chars() >= 13).then(pl.lit("*"))
        .otherwise(pl.col("parent_award_id_piid").fill_null("-NONE-")),
        pl.lit("0")], separator="|").alias("txn_key"),
    ).with_columns(
        pl.struct(pl.all().exclude("source_row")).hash().cast(pl.String).alias("row_hash"),
    )
    rows.sink_parquet(out, compression="snappy")
    seconds = time.perf_counter() - start
    n = pl.scan_parquet(out).select(pl.len()).collect().item()
    print(f"{n:,} rows in {seconds:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "/tmp/polars_prototype.parquet")
