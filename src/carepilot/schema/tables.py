"""The canonical carepilot data model: every table, column, type and allowed value.

Table and column names follow OpenSAFELY ehrQL's `core` schema where they overlap
(patients, practice_registrations, clinical_events, medications, ons_deaths) so that
data prepared for ehrQL loads as-is. Columns beyond ehrQL's are optional on load;
when absent they take their `default` (usually "Not stated"/"Unknown") so that they
show up as an explicit category in breakdowns instead of being rejected.

`docs/data-model.md` is generated from this module (`carepilot.schema.docs`).
"""

from __future__ import annotations

from carepilot.schema import categories as cat
from carepilot.schema.model import CodeSystem, Column, ColumnType, Table

INT, FLOAT, STR, DATE, BOOL = (
    ColumnType.INT,
    ColumnType.FLOAT,
    ColumnType.STR,
    ColumnType.DATE,
    ColumnType.BOOL,
)

EARLIEST_DATE = "1900-01-01"
"""No event, birth or registration in the data model may be earlier than this."""
TODAY = "today"
"""`max_value` sentinel for dates: not after the day the data are loaded."""


def _patient_id() -> Column:
    return Column(
        "patient_id",
        INT,
        "Pseudonymous patient identifier.",
        required=True,
        nullable=False,
        references="patients.patient_id",
        min_value=1,
    )


def _date(
    name: str, description: str, *, required: bool = True, nullable: bool = False
) -> Column:
    return Column(
        name,
        DATE,
        description,
        required=required,
        nullable=nullable,
        min_value=EARLIEST_DATE,
        max_value=TODAY,
    )


def _cost(name: str, description: str) -> Column:
    return Column(name, FLOAT, description, min_value=0)


def _provider(required: bool = False) -> Column:
    return Column(
        "provider_code",
        STR,
        "ODS code of the provider organisation.",
        required=required,
        nullable=not required,
        code_system=CodeSystem.ODS,
        references="providers.provider_code",
    )


# --- Organisations -------------------------------------------------------------------

COMMISSIONERS = Table(
    "commissioners",
    "A commissioning organisation (Primary Care Trust) and its Strategic Health Authority.",
    (
        Column(
            "commissioner_code",
            STR,
            "ODS code of the PCT.",
            required=True,
            nullable=False,
            code_system=CodeSystem.ODS,
        ),
        Column(
            "commissioner_name", STR, "Name of the PCT.", required=True, nullable=False
        ),
        Column(
            "sha_code",
            STR,
            "ODS code of the Strategic Health Authority.",
            required=True,
            nullable=False,
            code_system=CodeSystem.ODS,
        ),
        Column(
            "sha_name",
            STR,
            "Name of the Strategic Health Authority.",
            default=cat.UNKNOWN,
        ),
    ),
    primary_key=("commissioner_code",),
    group="Organisations",
)

PRACTICES = Table(
    "practices",
    "A GP practice, its primary care network / practice-based commissioning consortium and commissioner.",
    (
        Column(
            "practice_pseudo_id",
            INT,
            "Practice identifier used in registrations (ehrQL name).",
            required=True,
            nullable=False,
            min_value=1,
        ),
        Column(
            "practice_code",
            STR,
            "ODS code of the practice.",
            required=True,
            nullable=False,
            code_system=CodeSystem.ODS,
        ),
        Column(
            "practice_name", STR, "Name of the practice.", required=True, nullable=False
        ),
        Column(
            "pcn_code",
            STR,
            "Code of the PCN / PBC consortium the practice belongs to.",
            required=True,
            nullable=False,
        ),
        Column(
            "pcn_name", STR, "Name of the PCN / PBC consortium.", default=cat.UNKNOWN
        ),
        Column(
            "commissioner_code",
            STR,
            "Commissioner (PCT) responsible for the practice.",
            required=True,
            nullable=False,
            references="commissioners.commissioner_code",
        ),
        Column(
            "postcode", STR, "Practice postcode (public information).", default=None
        ),
        Column(
            "latitude",
            FLOAT,
            "Latitude of the practice (WGS84), for 'nearby' searches.",
            min_value=-90,
            max_value=90,
        ),
        Column(
            "longitude",
            FLOAT,
            "Longitude of the practice (WGS84).",
            min_value=-180,
            max_value=180,
        ),
    ),
    primary_key=("practice_pseudo_id",),
    group="Organisations",
)

PROVIDERS = Table(
    "providers",
    "A provider organisation of any sector (community, acute, mental health, social care, ...).",
    (
        Column(
            "provider_code",
            STR,
            "ODS code of the provider.",
            required=True,
            nullable=False,
            code_system=CodeSystem.ODS,
        ),
        Column(
            "provider_name", STR, "Name of the provider.", required=True, nullable=False
        ),
        Column(
            "provider_type",
            STR,
            "Sector of the provider.",
            required=True,
            nullable=False,
            allowed=cat.PROVIDER_TYPES,
        ),
        Column(
            "commissioner_code",
            STR,
            "Host commissioner (PCT).",
            references="commissioners.commissioner_code",
        ),
        Column(
            "postcode",
            STR,
            "Postcode of the provider's main site (public information).",
            default=None,
        ),
        Column(
            "latitude",
            FLOAT,
            "Latitude of the main site (WGS84), for 'choose a service' searches.",
            min_value=-90,
            max_value=90,
        ),
        Column(
            "longitude",
            FLOAT,
            "Longitude of the main site (WGS84).",
            min_value=-180,
            max_value=180,
        ),
    ),
    primary_key=("provider_code",),
    group="Organisations",
)

PILOT_SITES = Table(
    "pilot_sites",
    "An integrated care pilot: a partnership selected by the national programme.",
    (
        Column(
            "pilot_id", STR, "Identifier of the pilot.", required=True, nullable=False
        ),
        Column("pilot_name", STR, "Name of the pilot.", required=True, nullable=False),
        Column(
            "commissioner_code",
            STR,
            "Lead commissioner (PCT) backing the pilot.",
            required=True,
            nullable=False,
            references="commissioners.commissioner_code",
        ),
        _date("start_date", "Date the pilot started operating."),
        Column(
            "specific_inequality",
            STR,
            "The specific inequality the pilot committed to reduce.",
            allowed=cat.INEQUALITY_DIMENSIONS,
        ),
    ),
    primary_key=("pilot_id",),
    group="Organisations",
)

PILOT_SITE_MEMBERS = Table(
    "pilot_site_members",
    "A practice or provider taking part in a pilot, from its own start date (allows staggered adoption).",
    (
        Column(
            "pilot_id",
            STR,
            "The pilot.",
            required=True,
            nullable=False,
            references="pilot_sites.pilot_id",
        ),
        Column(
            "member_type",
            STR,
            "Whether the member is a practice or a provider.",
            required=True,
            nullable=False,
            allowed=cat.PILOT_MEMBER_TYPES,
        ),
        Column(
            "practice_pseudo_id",
            INT,
            "The practice (when member_type = practice).",
            references="practices.practice_pseudo_id",
        ),
        Column(
            "provider_code",
            STR,
            "The provider (when member_type = provider).",
            references="providers.provider_code",
        ),
        _date("start_date", "Date this member joined the pilot."),
    ),
    group="Organisations",
)

# --- Patients and registrations -------------------------------------------------------

PATIENTS = Table(
    "patients",
    "One row per patient: demographics, protected characteristics and deprivation.",
    (
        Column(
            "patient_id",
            INT,
            "Pseudonymous patient identifier.",
            required=True,
            nullable=False,
            min_value=1,
        ),
        Column(
            "date_of_birth",
            DATE,
            "Date of birth, to month precision (always the 1st).",
            required=True,
            nullable=False,
            min_value=EARLIEST_DATE,
            max_value=TODAY,
            first_of_month=True,
        ),
        Column(
            "sex",
            STR,
            "Sex as recorded (ehrQL values).",
            required=True,
            nullable=False,
            allowed=cat.SEX,
        ),
        Column(
            "ethnicity",
            STR,
            "Ethnicity, ONS 2021 census category.",
            allowed=cat.ETHNICITY_2021,
            default=cat.NOT_STATED,
        ),
        Column(
            "religion",
            STR,
            "Religion, ONS 2021 census category.",
            allowed=cat.RELIGION,
            default=cat.NOT_STATED,
        ),
        Column(
            "disability",
            STR,
            "Disability status (Equality Act 2010).",
            allowed=cat.DISABILITY,
            default=cat.NOT_STATED,
        ),
        Column(
            "sexual_orientation",
            STR,
            "Sexual orientation.",
            allowed=cat.SEXUAL_ORIENTATION,
            default=cat.NOT_STATED,
        ),
        Column(
            "gender_identity",
            STR,
            "Whether gender identity is the same as sex registered at birth.",
            allowed=cat.GENDER_IDENTITY,
            default=cat.NOT_STATED,
        ),
        Column(
            "lsoa_code",
            STR,
            "Lower-layer super output area of residence.",
            code_system=CodeSystem.LSOA,
        ),
        Column(
            "imd_decile",
            INT,
            "Index of Multiple Deprivation decile of the LSOA (1 = most deprived).",
            min_value=1,
            max_value=10,
        ),
        Column(
            "rural_urban",
            STR,
            "Rural/urban classification of the LSOA.",
            allowed=cat.RURAL_URBAN,
            default=cat.UNKNOWN,
        ),
        _date(
            "date_of_death",
            "Date of death from the primary care record, if dead.",
            required=False,
            nullable=True,
        ),
    ),
    primary_key=("patient_id",),
)

PRACTICE_REGISTRATIONS = Table(
    "practice_registrations",
    "A period of registration with a GP practice (end_date empty while current).",
    (
        _patient_id(),
        _date("start_date", "First day of registration."),
        _date(
            "end_date",
            "Last day of registration; empty if still registered.",
            required=False,
            nullable=True,
        ),
        Column(
            "practice_pseudo_id",
            INT,
            "The practice.",
            required=True,
            nullable=False,
            references="practices.practice_pseudo_id",
        ),
    ),
)

# --- Primary care record --------------------------------------------------------------

CLINICAL_EVENTS = Table(
    "clinical_events",
    "A coded event in the primary care record (diagnosis, observation, procedure, refusal ...).",
    (
        _patient_id(),
        _date("date", "Date the event was recorded."),
        Column(
            "snomedct_code",
            STR,
            "SNOMED CT concept id.",
            required=True,
            nullable=False,
            code_system=CodeSystem.SNOMEDCT,
        ),
        Column(
            "numeric_value",
            FLOAT,
            "Value of an observation (mmHg, mmol/mol, kg/m2 ...), if any.",
        ),
    ),
)

MEDICATIONS = Table(
    "medications",
    "A medicine issued in primary care.",
    (
        _patient_id(),
        _date("date", "Date of issue."),
        Column(
            "dmd_code",
            STR,
            "dm+d (Dictionary of medicines and devices) id.",
            required=True,
            nullable=False,
            code_system=CodeSystem.DMD,
        ),
    ),
)

# --- Secondary, community and social care ----------------------------------------------

APCS = Table(
    "apcs",
    "An admitted patient care hospital spell.",
    (
        Column(
            "spell_id",
            INT,
            "Spell identifier.",
            required=True,
            nullable=False,
            min_value=1,
        ),
        _patient_id(),
        _date("admission_date", "Date of admission."),
        _date(
            "discharge_date",
            "Date of discharge; empty while in hospital.",
            required=False,
            nullable=True,
        ),
        Column(
            "admission_method",
            STR,
            "Elective, emergency, maternity or other.",
            required=True,
            nullable=False,
            allowed=cat.ADMISSION_METHODS,
        ),
        Column(
            "primary_diagnosis",
            STR,
            "Primary diagnosis (ICD-10).",
            required=True,
            nullable=False,
            code_system=CodeSystem.ICD10,
        ),
        Column(
            "primary_procedure",
            STR,
            "Main procedure (OPCS-4), if any.",
            code_system=CodeSystem.OPCS4,
        ),
        Column(
            "hrg_code",
            STR,
            "Healthcare Resource Group of the spell.",
            code_system=CodeSystem.HRG,
        ),
        _cost(
            "tariff_cost",
            "National tariff (payment by results) price of the spell, GBP.",
        ),
        Column(
            "discharge_destination",
            STR,
            "Where the patient went on discharge.",
            allowed=cat.DISCHARGE_DESTINATIONS,
            default="other",
        ),
        Column(
            "delayed_discharge_days",
            INT,
            "Bed days after the patient was medically fit for discharge.",
            min_value=0,
            default=0,
        ),
        _provider(),
    ),
    primary_key=("spell_id",),
    group="Secondary, community and social care",
)

OPA = Table(
    "opa",
    "An outpatient appointment.",
    (
        Column(
            "appointment_id",
            INT,
            "Appointment identifier.",
            required=True,
            nullable=False,
            min_value=1,
        ),
        _patient_id(),
        _date("appointment_date", "Date of the appointment."),
        Column(
            "attendance_type",
            STR,
            "First or follow-up attendance.",
            required=True,
            nullable=False,
            allowed=cat.OPA_ATTENDANCE_TYPES,
        ),
        Column(
            "attendance_status",
            STR,
            "Attended, did not attend (DNA) or cancelled.",
            required=True,
            nullable=False,
            allowed=cat.ATTENDANCE_STATUS,
        ),
        Column(
            "specialty",
            STR,
            "Treatment function (specialty) name.",
            default=cat.UNKNOWN,
        ),
        _cost("cost", "Tariff price of the attendance, GBP (0 when not attended)."),
        _provider(),
    ),
    primary_key=("appointment_id",),
    group="Secondary, community and social care",
)

EC = Table(
    "ec",
    "An emergency care (A&E) attendance.",
    (
        Column(
            "attendance_id",
            INT,
            "Attendance identifier.",
            required=True,
            nullable=False,
            min_value=1,
        ),
        _patient_id(),
        _date("arrival_date", "Date of arrival."),
        Column(
            "department_type",
            STR,
            "Type 1 (major A&E), 2 (single specialty) or 3 (UTC/minor injuries).",
            allowed=cat.EC_DEPARTMENT_TYPES,
            default="type_1",
        ),
        Column(
            "disposal",
            STR,
            "Outcome of the attendance.",
            allowed=cat.EC_DISPOSALS,
            default="discharged",
        ),
        Column(
            "primary_diagnosis",
            STR,
            "Diagnosis (ICD-10), if coded.",
            code_system=CodeSystem.ICD10,
        ),
        _cost("cost", "Tariff price of the attendance, GBP."),
        _provider(),
    ),
    primary_key=("attendance_id",),
    group="Secondary, community and social care",
)

COMMUNITY_CONTACTS = Table(
    "community_contacts",
    "A contact with a community health service (district nursing, physiotherapy, ...).",
    (
        Column(
            "contact_id",
            INT,
            "Contact identifier.",
            required=True,
            nullable=False,
            min_value=1,
        ),
        _patient_id(),
        _date("contact_date", "Date of the contact."),
        Column("service", STR, "Community service.", required=True, nullable=False),
        Column(
            "staff_group",
            STR,
            "Staff group delivering the contact.",
            default=cat.UNKNOWN,
        ),
        Column(
            "minutes",
            INT,
            "Duration of the contact in minutes.",
            min_value=0,
            max_value=1440,
        ),
        Column(
            "attendance_status",
            STR,
            "Attended, did not attend (DNA) or cancelled.",
            required=True,
            nullable=False,
            allowed=cat.ATTENDANCE_STATUS,
        ),
        _cost("cost", "Cost of the contact, GBP."),
        _provider(),
    ),
    primary_key=("contact_id",),
    group="Secondary, community and social care",
)

PROVIDER_WORKFORCE = Table(
    "provider_workforce",
    "Whole-time-equivalent staff of a provider's service in a month (for productivity measures).",
    (
        _provider(required=True),
        Column(
            "service",
            STR,
            "Service (as in community_contacts.service).",
            required=True,
            nullable=False,
        ),
        _date("month_start", "First day of the month."),
        Column(
            "wte",
            FLOAT,
            "Whole-time-equivalent staff.",
            required=True,
            nullable=False,
            min_value=0,
        ),
    ),
    primary_key=("provider_code", "service", "month_start"),
    group="Secondary, community and social care",
)

SOCIAL_CARE_PACKAGES = Table(
    "social_care_packages",
    "A package of adult social care.",
    (
        Column(
            "package_id",
            INT,
            "Package identifier.",
            required=True,
            nullable=False,
            min_value=1,
        ),
        _patient_id(),
        _date("start_date", "First day of the package."),
        _date(
            "end_date",
            "Last day of the package; empty while ongoing.",
            required=False,
            nullable=True,
        ),
        Column(
            "package_type",
            STR,
            "Type of care.",
            required=True,
            nullable=False,
            allowed=cat.SOCIAL_CARE_PACKAGE_TYPES,
        ),
        _cost("weekly_cost", "Cost per week, GBP."),
        Column(
            "after_discharge_spell_id",
            INT,
            "The hospital spell this package followed, if any.",
            references="apcs.spell_id",
        ),
    ),
    primary_key=("package_id",),
    group="Secondary, community and social care",
)

REFERRALS = Table(
    "referrals",
    "A consultant-led referral with its referral-to-treatment (RTT, 18-week) clock.",
    (
        Column(
            "referral_id",
            INT,
            "Referral identifier.",
            required=True,
            nullable=False,
            min_value=1,
        ),
        _patient_id(),
        _date("referral_date", "Date of referral."),
        _date("clock_start_date", "RTT clock start."),
        _date(
            "clock_stop_date",
            "RTT clock stop (first definitive treatment); empty while waiting.",
            required=False,
            nullable=True,
        ),
        Column(
            "specialty",
            STR,
            "Treatment function (specialty) name.",
            default=cat.UNKNOWN,
        ),
        _provider(),
    ),
    primary_key=("referral_id",),
    group="Secondary, community and social care",
)

PROMS = Table(
    "proms",
    "A patient-reported outcome measure episode: EQ-5D before and after a procedure or care period.",
    (
        Column(
            "proms_id",
            INT,
            "Episode identifier.",
            required=True,
            nullable=False,
            min_value=1,
        ),
        _patient_id(),
        Column(
            "instrument",
            STR,
            "Questionnaire.",
            required=True,
            nullable=False,
            allowed=cat.PROMS_INSTRUMENTS,
        ),
        Column(
            "procedure",
            STR,
            "Procedure or condition the episode is about.",
            required=True,
            nullable=False,
            allowed=cat.PROMS_PROCEDURES,
        ),
        _date("pre_date", "Date of the pre-operative / baseline questionnaire."),
        _date(
            "post_date",
            "Date of the follow-up questionnaire; empty if not returned.",
            required=False,
            nullable=True,
        ),
        Column(
            "pre_eq5d_index",
            FLOAT,
            "EQ-5D index before (1 = full health).",
            min_value=-0.6,
            max_value=1,
        ),
        Column(
            "post_eq5d_index", FLOAT, "EQ-5D index after.", min_value=-0.6, max_value=1
        ),
        Column(
            "pre_eq5d_vas", FLOAT, "EQ-VAS before (0-100).", min_value=0, max_value=100
        ),
        Column(
            "post_eq5d_vas", FLOAT, "EQ-VAS after (0-100).", min_value=0, max_value=100
        ),
        _provider(),
    ),
    primary_key=("proms_id",),
    group="Outcomes and experience",
)

PATIENT_EXPERIENCE = Table(
    "patient_experience",
    "One answer to one question of a patient experience survey.",
    (
        Column(
            "response_id",
            INT,
            "Answer identifier.",
            required=True,
            nullable=False,
            min_value=1,
        ),
        _patient_id(),
        Column(
            "survey",
            STR,
            "Survey (e.g. gpps, community, inpatient).",
            required=True,
            nullable=False,
        ),
        _date("survey_date", "Date of the response."),
        Column(
            "question",
            STR,
            "Question code (e.g. overall_experience).",
            required=True,
            nullable=False,
        ),
        Column(
            "response",
            STR,
            "Answer rolled up to positive / neutral / negative.",
            required=True,
            nullable=False,
            allowed=cat.SURVEY_RESPONSES,
        ),
        _provider(),
    ),
    primary_key=("response_id",),
    group="Outcomes and experience",
)

RECORD_ACCESS_REQUESTS = Table(
    "record_access_requests",
    "A patient's request to access their health record (subject access request).",
    (
        Column(
            "request_id",
            INT,
            "Request identifier.",
            required=True,
            nullable=False,
            min_value=1,
        ),
        _patient_id(),
        _date("request_date", "Date the request was received."),
        _date(
            "response_date",
            "Date the records were provided; empty if outstanding.",
            required=False,
            nullable=True,
        ),
        _provider(),
    ),
    primary_key=("request_id",),
    group="Outcomes and experience",
)

_DEATH_CAUSES = tuple(
    Column(
        f"cause_of_death_{i:02d}",
        STR,
        f"Contributing cause of death {i} (ICD-10).",
        code_system=CodeSystem.ICD10,
    )
    for i in range(1, 16)
)

ONS_DEATHS = Table(
    "ons_deaths",
    "A registered death (ONS mortality data).",
    (
        _patient_id(),
        _date("date", "Date of death."),
        Column(
            "underlying_cause_of_death",
            STR,
            "Underlying cause of death (ICD-10).",
            required=True,
            nullable=False,
            code_system=CodeSystem.ICD10,
        ),
        Column(
            "place_of_death",
            STR,
            "Place of death.",
            allowed=cat.PLACE_OF_DEATH,
            default=cat.UNKNOWN,
        ),
        *_DEATH_CAUSES,
    ),
    primary_key=("patient_id",),
    group="Outcomes and experience",
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        COMMISSIONERS,
        PRACTICES,
        PROVIDERS,
        PILOT_SITES,
        PILOT_SITE_MEMBERS,
        PATIENTS,
        PRACTICE_REGISTRATIONS,
        CLINICAL_EVENTS,
        MEDICATIONS,
        APCS,
        OPA,
        EC,
        COMMUNITY_CONTACTS,
        PROVIDER_WORKFORCE,
        SOCIAL_CARE_PACKAGES,
        REFERRALS,
        PROMS,
        PATIENT_EXPERIENCE,
        RECORD_ACCESS_REQUESTS,
        ONS_DEATHS,
    )
}
"""Every canonical table by name, in load order (referenced tables first)."""


def get_table(name: str) -> Table:
    """Return the table called `name` or raise KeyError listing the valid names."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(
            f"no table `{name}` in the data model; tables are: {', '.join(TABLES)}"
        ) from None
