"""SQL for the identity columns every layout shares (see DESIGN "Money rules").

The transaction key is agency | PIID | modification | parent PIID | transaction number.
The parent PIID is part of it only for short, pre-uniform PIIDs (under 13 characters), which
can repeat across vehicles; uniform PIIDs (FY2016 on, 13–17 characters) are unique on their
own, and leaving the parent out keeps the key stable when USAspending corrects an order's
parent vehicle (it did, for 5 FY2026 CBP keys). An export without transaction numbers gets 0,
the number nearly every action carries.

The agency inside USAspending's keys is FPDS's `agency_id`, the agency that issued the PIID:
for civilian agencies the awarding sub-tier (ICE 7012), but 9700 for every Department of
Defense component (Army 2100, Air Force 5700, DLA 97AS …), whose PIIDs are unique
department-wide (`CONT_AWD_N0001902C3002_9700_-NONE-_-NONE-`). The monthly delta files name
deleted transactions by that agency alone, so the transaction key uses it too.
"""

from contractwatch.values.ids import PERMALINK, key_agency_codes

# sub-tier codes whose keys carry the department's 9700 (from data/agencies.csv)
_DOD = ", ".join(f"'{code}'" for code in sorted(key_agency_codes()))
KEY_AGENCY_SQL = (
    f"CASE WHEN awarding_agency_code = '097' OR awarding_sub_agency_code IN ({_DOD}) "
    "THEN '9700' ELSE awarding_sub_agency_code END"
)

TXN_KEY_SQL = (
    f"concat_ws('|', coalesce({KEY_AGENCY_SQL}, ''), coalesce(award_id_piid, ''), "
    "coalesce(modification_number, ''), "
    "CASE WHEN length(coalesce(award_id_piid, '')) >= 13 THEN '*' "
    "ELSE coalesce(parent_award_id_piid, '-NONE-') END, "
    "coalesce(CAST(transaction_number AS VARCHAR), '0'))"
)

AWARD_KEY_SQL = (
    "CASE WHEN award_or_idv_flag = 'IDV' "
    f"THEN 'CONT_IDV_' || award_id_piid || '_' || ({KEY_AGENCY_SQL}) "
    f"ELSE 'CONT_AWD_' || award_id_piid || '_' || ({KEY_AGENCY_SQL}) || '_' "
    "|| coalesce(parent_award_id_piid, '-NONE-') || '_' "
    "|| coalesce(parent_award_agency_id, '-NONE-') END"
)

TRANSACTION_KEY_SQL = (
    f"coalesce({KEY_AGENCY_SQL}, '-NONE-') || '_' || coalesce(parent_award_agency_id, "
    "'-NONE-') || '_' || award_id_piid || '_' || coalesce(modification_number, '-NONE-') || '_' "
    "|| coalesce(parent_award_id_piid, '-NONE-') || '_' "
    "|| coalesce(CAST(transaction_number AS VARCHAR), '-NONE-')"
)

# the award's page; hashed at ingest but not stored: Catalog.transactions_all derives it
PERMALINK_SQL = "'" + PERMALINK.replace("{key}", "' || {key} || '") + "'"
