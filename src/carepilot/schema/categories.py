"""Closed sets of allowed values, and the roll-ups used by breakdowns.

Ethnicity is stored as the ONS 2021 census category (19 groups plus "Not stated").
Breakdowns use two roll-ups: the 5 high-level groups and the 16 NHS (2001 census)
groups, mapping the three categories new in 2021 (Gypsy or Irish Traveller, Roma,
Arab) to the nearest 2001 "any other" group as NHS Digital does.
"""

from __future__ import annotations

NOT_STATED = "Not stated"
UNKNOWN = "Unknown"

SEX: tuple[str, ...] = ("female", "male", "intersex", "unknown")

ETHNICITY_2021: tuple[str, ...] = (
    "White: English, Welsh, Scottish, Northern Irish or British",
    "White: Irish",
    "White: Gypsy or Irish Traveller",
    "White: Roma",
    "White: Other White",
    "Mixed: White and Black Caribbean",
    "Mixed: White and Black African",
    "Mixed: White and Asian",
    "Mixed: Other Mixed or Multiple ethnic groups",
    "Asian: Indian",
    "Asian: Pakistani",
    "Asian: Bangladeshi",
    "Asian: Chinese",
    "Asian: Other Asian",
    "Black: African",
    "Black: Caribbean",
    "Black: Other Black",
    "Other: Arab",
    "Other: Any other ethnic group",
    NOT_STATED,
)

ETHNICITY_5_GROUPS: tuple[str, ...] = (
    "White",
    "Mixed",
    "Asian",
    "Black",
    "Other",
    NOT_STATED,
)

ETHNICITY_16_GROUPS: tuple[str, ...] = (
    "British",
    "Irish",
    "Any other White background",
    "White and Black Caribbean",
    "White and Black African",
    "White and Asian",
    "Any other Mixed background",
    "Indian",
    "Pakistani",
    "Bangladeshi",
    "Any other Asian background",
    "Caribbean",
    "African",
    "Any other Black background",
    "Chinese",
    "Any other ethnic group",
    NOT_STATED,
)

ETHNICITY_TO_5: dict[str, str] = {
    e: (NOT_STATED if e == NOT_STATED else e.split(":", 1)[0]) for e in ETHNICITY_2021
}

ETHNICITY_TO_16: dict[str, str] = {
    "White: English, Welsh, Scottish, Northern Irish or British": "British",
    "White: Irish": "Irish",
    "White: Gypsy or Irish Traveller": "Any other White background",
    "White: Roma": "Any other White background",
    "White: Other White": "Any other White background",
    "Mixed: White and Black Caribbean": "White and Black Caribbean",
    "Mixed: White and Black African": "White and Black African",
    "Mixed: White and Asian": "White and Asian",
    "Mixed: Other Mixed or Multiple ethnic groups": "Any other Mixed background",
    "Asian: Indian": "Indian",
    "Asian: Pakistani": "Pakistani",
    "Asian: Bangladeshi": "Bangladeshi",
    "Asian: Chinese": "Chinese",
    "Asian: Other Asian": "Any other Asian background",
    "Black: African": "African",
    "Black: Caribbean": "Caribbean",
    "Black: Other Black": "Any other Black background",
    "Other: Arab": "Any other ethnic group",
    "Other: Any other ethnic group": "Any other ethnic group",
    NOT_STATED: NOT_STATED,
}

RELIGION: tuple[str, ...] = (
    "No religion",
    "Christian",
    "Buddhist",
    "Hindu",
    "Jewish",
    "Muslim",
    "Sikh",
    "Other religion",
    NOT_STATED,
)

DISABILITY: tuple[str, ...] = ("Disabled", "Not disabled", NOT_STATED)

SEXUAL_ORIENTATION: tuple[str, ...] = (
    "Heterosexual or straight",
    "Gay or lesbian",
    "Bisexual",
    "Other sexual orientation",
    NOT_STATED,
)

GENDER_IDENTITY: tuple[str, ...] = (
    "Same as sex registered at birth",
    "Different from sex registered at birth",
    NOT_STATED,
)

RURAL_URBAN: tuple[str, ...] = ("Urban", "Rural", UNKNOWN)

PROVIDER_TYPES: tuple[str, ...] = (
    "gp",
    "community",
    "acute",
    "mental_health",
    "social_care",
    "third_sector",
    "social_enterprise",
    "private",
)

ADMISSION_METHODS: tuple[str, ...] = ("elective", "emergency", "maternity", "other")

DISCHARGE_DESTINATIONS: tuple[str, ...] = (
    "usual_residence",
    "care_home",
    "other_hospital",
    "died",
    "other",
)

ATTENDANCE_STATUS: tuple[str, ...] = ("attended", "dna", "cancelled")

OPA_ATTENDANCE_TYPES: tuple[str, ...] = ("first", "follow_up")

EC_DEPARTMENT_TYPES: tuple[str, ...] = ("type_1", "type_2", "type_3")

EC_DISPOSALS: tuple[str, ...] = (
    "discharged",
    "admitted",
    "transferred",
    "died",
    "left",
)

SOCIAL_CARE_PACKAGE_TYPES: tuple[str, ...] = (
    "home_care",
    "reablement",
    "residential",
    "nursing",
    "direct_payment",
)

PROMS_INSTRUMENTS: tuple[str, ...] = ("EQ-5D-5L", "EQ-5D-3L")

PROMS_PROCEDURES: tuple[str, ...] = (
    "hip_replacement",
    "knee_replacement",
    "long_term_condition",
)

PLACE_OF_DEATH: tuple[str, ...] = (
    "home",
    "care_home",
    "hospice",
    "hospital",
    "other",
    UNKNOWN,
)

SURVEY_RESPONSES: tuple[str, ...] = ("positive", "neutral", "negative")

PILOT_MEMBER_TYPES: tuple[str, ...] = ("practice", "provider")

INEQUALITY_DIMENSIONS: tuple[str, ...] = (
    "race",
    "gender",
    "disability",
    "religion",
    "sexuality",
)
