"""X12 codes the verification reads and writes: service type codes (STC) and where each level
of care looks for its values, time-period and benefit codes, and AAA reject reasons."""

from __future__ import annotations

from coverage.levels import Category, Level

STC_NAMES: dict[str, str] = {
    "30": "Health Benefit Plan Coverage",
    "MH": "Mental Health",
    "CF": "Mental Health Provider - Outpatient",
    "CH": "Mental Health Facility - Outpatient",
    "A4": "Psychiatric",
    "A6": "Psychotherapy",
    "A7": "Psychiatric - Inpatient",
    "A8": "Psychiatric - Outpatient",
    "BB": "Partial Hospitalization (Psychiatric)",
    "AI": "Substance Abuse",
    "AJ": "Alcoholism",
    "AK": "Drug Addiction",
    "CI": "Substance Abuse Facility - Inpatient",
    "CJ": "Substance Abuse Facility - Outpatient",
}
MENTAL_HEALTH_STCS = ("MH", "CF", "CH", "A4", "A6", "A7", "A8", "BB")  # BB: partial hospitalization
SUBSTANCE_USE_STCS = ("AI", "AJ", "AK", "CI", "CJ")
REQUESTED_STCS = MENTAL_HEALTH_STCS + SUBSTANCE_USE_STCS
PLAN_WIDE_STC = "30"
LEVEL_SPECIFIC_STCS = frozenset({"CF", "A6", "CH", "BB", "CJ"})

# Where each priced level looks for its values, most specific tier first. The first tier
# holding a usable entry wins; a lower tier is never consulted once a higher one answered.
# Inpatient codes (A7, CI) are requested for the record but never priced as outpatient care.
MH_ALL_LEVELS: tuple[tuple[str, ...], ...] = (("A8",), ("MH", "A4"), (PLAN_WIDE_STC,))
SUD_ALL_LEVELS: tuple[tuple[str, ...], ...] = (("AI", "AJ", "AK"), (PLAN_WIDE_STC,))
STC_TIERS: dict[tuple[Category, Level], tuple[tuple[str, ...], ...]] = {
    ("mh", "op"): (("CF", "A6"), *MH_ALL_LEVELS),
    ("mh", "iop"): (("CH",), *MH_ALL_LEVELS),
    ("mh", "php"): (("BB",), ("CH",), *MH_ALL_LEVELS),
    ("sud", "op"): SUD_ALL_LEVELS,
    ("sud", "iop"): (("CJ",), *SUD_ALL_LEVELS),
    ("sud", "php"): (("CJ",), *SUD_ALL_LEVELS),
}

TOTAL_PERIODS = {"21": "years", "22": "service year", "23": "calendar year"}
REMAINING = "29"
YEAR_TO_DATE = "24"
TIME_QUALIFIERS = {
    **TOTAL_PERIODS,
    "6": "hour",
    "7": "day",
    "13": "24 hours",
    "24": "year to date",
    "25": "contract",
    "26": "episode",
    "27": "visit",
    "28": "outlier",
    "29": "remaining",
    "30": "exceeded",
    "31": "not exceeded",
    "32": "lifetime",
    "33": "lifetime remaining",
    "34": "month",
    "35": "week",
    "36": "admission",
}
ACTIVE_CODES = {"1": True, "2": True, "3": True, "4": True, "5": True, "6": False, "7": False, "8": False}
NOT_COVERED = "I"
UNIT_QUANTITIES = {"VS": "visits", "DY": "days"}

# Staff-facing wording for the AAA reject reasons an admissions desk actually meets.
INACTIVE_CODES = {
    "6": "Inactive",
    "7": "Inactive - Pending Eligibility Update",
    "8": "Inactive - Pending Investigation",
}

# Staff-facing wording for the AAA reject reasons an admissions desk actually meets.
AAA_MESSAGES: dict[str, str] = {
    "15": "required information is missing from the request",
    "41": "the provider is not authorized to check this payer's eligibility",
    "42": "the payer's system cannot respond right now; try again later or verify by phone",
    "43": "the provider NPI is invalid or missing",
    "51": "the provider is not on file with the payer",
    "52": "the date of service is outside the provider's enrollment with the payer",
    "56": "the date is not acceptable to the payer",
    "57": "the date of service is invalid or missing",
    "58": "the date of birth is invalid or missing",
    "62": "the date of service is outside the period the payer allows inquiries for",
    "63": "the date of service is in the future",
    "71": "the date of birth does not match the payer's records",
    "72": "the member ID is invalid or missing; check the insurance card",
    "73": "the subscriber's name is invalid or missing",
    "75": "the payer cannot find this subscriber; check the name, date of birth and member ID",
    "76": "the member ID matches more than one subscriber",
    "78": "the subscriber is not in the group or plan identified",
    "79": "the payer id is not valid for this inquiry",
    "80": "the payer did not answer and the clearinghouse ended the transaction",
    "T4": "the payer name or id is missing",
}
