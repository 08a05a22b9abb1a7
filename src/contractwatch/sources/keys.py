"""SQL for the identity columns every layout shares (see DESIGN "Money rules").

The transaction key is agency | PIID | modification | parent PIID | transaction number.
The parent PIID is part of it only for short, pre-uniform PIIDs (under 13 characters), which
can repeat across vehicles; uniform PIIDs (FY2016 on, 13–17 characters) are unique on their
own, and leaving the parent out keeps the key stable when USAspending corrects an order's
parent vehicle (it did, for 5 FY2026 CBP keys). An export without transaction numbers gets 0,
the number nearly every action carries.
"""

from contractwatch.values.ids import PERMALINK

TXN_KEY_SQL = (
    "concat_ws('|', coalesce(awarding_sub_agency_code, ''), coalesce(award_id_piid, ''), "
    "coalesce(modification_number, ''), "
    "CASE WHEN length(coalesce(award_id_piid, '')) >= 13 THEN '*' "
    "ELSE coalesce(parent_award_id_piid, '-NONE-') END, "
    "coalesce(CAST(transaction_number AS VARCHAR), '0'))"
)

AWARD_KEY_SQL = (
    "CASE WHEN award_or_idv_flag = 'IDV' "
    "THEN 'CONT_IDV_' || award_id_piid || '_' || awarding_sub_agency_code "
    "ELSE 'CONT_AWD_' || award_id_piid || '_' || awarding_sub_agency_code || '_' "
    "|| coalesce(parent_award_id_piid, '-NONE-') || '_' "
    "|| coalesce(parent_award_agency_id, '-NONE-') END"
)

TRANSACTION_KEY_SQL = (
    "coalesce(awarding_sub_agency_code, '-NONE-') || '_' || coalesce(parent_award_agency_id, "
    "'-NONE-') || '_' || award_id_piid || '_' || coalesce(modification_number, '-NONE-') || '_' "
    "|| coalesce(parent_award_id_piid, '-NONE-') || '_' "
    "|| coalesce(CAST(transaction_number AS VARCHAR), '-NONE-')"
)

# the award's page; hashed at ingest but not stored: Catalog.transactions_all derives it
PERMALINK_SQL = "'" + PERMALINK.replace("{key}", "' || {key} || '") + "'"
