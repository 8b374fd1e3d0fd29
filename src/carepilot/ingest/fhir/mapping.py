"""Map FHIR R4 resources to data-model rows.

One function per resource type; each returns `(table, row)` pairs or raises
`ElementProblem`. Resources marked `entered-in-error` (and refuted conditions,
procedures not done, cancelled prescriptions) describe nothing that happened
and are skipped, as a clinical system's own reports would.

What FHIR cannot carry is left to the data model's defaults: deprivation, LSOA
and the other protected characteristics are not standard Patient elements, so
they load as "Not stated"/unknown unless the extract supplies them in CSV.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from carepilot.ingest.fhir.values import (
    DMD_SYSTEMS,
    SNOMED,
    ElementProblem,
    codes,
    day,
    first,
    month_start,
    ods_code,
    quantity,
    reference,
)
from carepilot.schema.categories import NOT_STATED
from carepilot.schema.model import CodeSystem

Row = dict[str, object]
Mapped = list[tuple[str, Row]]

ETHNIC_CATEGORY_EXTENSIONS = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory",
    "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-EthnicCategory-1",
    "https://fhir.hl7.org.uk/STU3/StructureDefinition/Extension-CareConnect-EthnicCategory-1",
)
VACCINATION_PROCEDURE_EXTENSION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-VaccinationProcedure"
)

ETHNIC_CATEGORY: dict[str, str] = {
    # NHS Data Dictionary ethnic category (2001 census letters) -> ONS 2021 category
    "A": "White: English, Welsh, Scottish, Northern Irish or British",
    "B": "White: Irish",
    "C": "White: Other White",
    "D": "Mixed: White and Black Caribbean",
    "E": "Mixed: White and Black African",
    "F": "Mixed: White and Asian",
    "G": "Mixed: Other Mixed or Multiple ethnic groups",
    "H": "Asian: Indian",
    "J": "Asian: Pakistani",
    "K": "Asian: Bangladeshi",
    "L": "Asian: Other Asian",
    "M": "Black: Caribbean",
    "N": "Black: African",
    "P": "Black: Other Black",
    "R": "Asian: Chinese",
    "S": "Other: Any other ethnic group",
    "Z": NOT_STATED,
    "99": NOT_STATED,
}

SEX: dict[str, str] = {
    "female": "female",
    "male": "male",
    "unknown": "unknown",
    # FHIR's "other" is not the data model's "intersex"; record it as unknown
    "other": "unknown",
}

SKIP_STATUSES = frozenset(
    {"entered-in-error", "cancelled", "not-done", "refuted", "stopped-in-error"}
)
"""Statuses of records that describe nothing that happened."""


@dataclass
class Context:
    """What a resource's references resolve against.

    Attributes:
        patient_ids: FHIR patient reference (`Patient/<id>` or a Bundle
            `fullUrl`) -> data-model `patient_id`.
        practice_ids: practice ODS code -> `practice_pseudo_id`.
        organisation_ods: `Organization/<id>` (or fullUrl) -> ODS code, from the
            Organization resources of the extract.
        skipped: resources skipped because of their status, per type.
        not_practice: registrations skipped because the organisation is not a
            practice of the extract.
    """

    patient_ids: Mapping[str, int]
    practice_ids: Mapping[str, int]
    organisation_ods: Mapping[str, str]
    skipped: dict[str, int] = field(default_factory=dict[str, int])
    not_practice: set[str] = field(default_factory=set[str])

    def patient(self, resource: dict[str, Any], element: str) -> int:
        path = f"{resource.get('resourceType')}.{element}"
        ref = reference(resource.get(element), path)
        try:
            return self.patient_ids[ref]
        except KeyError:
            raise ElementProblem(
                f"{path}.reference",
                ref,
                "a reference to a Patient resource of this extract",
            ) from None


def _status_skipped(resource: dict[str, Any], ctx: Context) -> bool:
    statuses = [resource.get("status")]
    verification = resource.get("verificationStatus")
    if isinstance(verification, dict):
        for coding in verification.get("coding") or []:
            if isinstance(coding, dict):
                statuses.append(coding.get("code"))
    if any(s in SKIP_STATUSES for s in statuses):
        kind = str(resource.get("resourceType"))
        ctx.skipped[kind] = ctx.skipped.get(kind, 0) + 1
        return True
    return False


def patient_row(resource: dict[str, Any], patient_id: int) -> Row:
    """The `patients` row of a Patient resource."""
    gender = resource.get("gender", "unknown")
    if gender not in SEX:
        raise ElementProblem("Patient.gender", gender, "one of " + ", ".join(SEX))
    row: Row = {
        "patient_id": patient_id,
        "date_of_birth": month_start(resource.get("birthDate"), "Patient.birthDate"),
        "sex": SEX[str(gender)],
        "ethnicity": _ethnicity(resource),
        "date_of_death": None,
    }
    death = first(resource, "deceasedDateTime")
    if death is not None:
        row["date_of_death"] = day(death[1], f"Patient.{death[0]}")
    return row


def _ethnicity(resource: dict[str, Any]) -> str:
    for i, ext in enumerate(resource.get("extension") or []):
        if (
            not isinstance(ext, dict)
            or ext.get("url") not in ETHNIC_CATEGORY_EXTENSIONS
        ):
            continue
        concept = ext.get("valueCodeableConcept") or {}
        for coding in concept.get("coding") or []:
            code = str(coding.get("code", "")).strip().upper()
            if code in ETHNIC_CATEGORY:
                return ETHNIC_CATEGORY[code]
            raise ElementProblem(
                f"Patient.extension[{i}].valueCodeableConcept.coding.code",
                code,
                "an NHS ethnic category code (A-H, J-N, P, R, S or Z)",
            )
    return NOT_STATED


def registration(resource: dict[str, Any], ctx: Context) -> Mapped:
    """An EpisodeOfCare at a GP practice -> a `practice_registrations` row."""
    if _status_skipped(resource, ctx):
        return []
    org = resource.get("managingOrganization")
    path = "EpisodeOfCare.managingOrganization"
    code = ods_code(org, path)
    if code is None:
        ref = reference(org, path)
        code = ctx.organisation_ods.get(ref)
        if code is None:
            raise ElementProblem(
                f"{path}.reference",
                ref,
                "an Organization of this extract with an ODS code identifier, or an "
                "identifier with the ODS system",
            )
    if code not in ctx.practice_ids:
        ctx.not_practice.add(code)
        return []
    period = resource.get("period") or {}
    start = day(period.get("start"), "EpisodeOfCare.period.start")
    end = period.get("end")
    return [
        (
            "practice_registrations",
            {
                "patient_id": ctx.patient(resource, "patient"),
                "start_date": start,
                "end_date": None
                if end is None
                else day(end, "EpisodeOfCare.period.end"),
                "practice_pseudo_id": ctx.practice_ids[code],
            },
        )
    ]


def _event(
    patient_id: int, date: dt.date, code: str, value: float | None
) -> tuple[str, Row]:
    return (
        "clinical_events",
        {
            "patient_id": patient_id,
            "date": date,
            "snomedct_code": code,
            "numeric_value": value,
        },
    )


def _when(resource: dict[str, Any], *names: str) -> dt.date:
    kind = resource.get("resourceType")
    found = first(resource, *names)
    if found is None:
        raise ElementProblem(
            f"{kind}.{names[0]}", None, f"a date in one of: {', '.join(names)}"
        )
    name, value = found
    if name.endswith("Period"):
        value = value.get("start") if isinstance(value, dict) else value
        name += ".start"
    return day(value, f"{kind}.{name}")


def condition(resource: dict[str, Any], ctx: Context) -> Mapped:
    """A Condition -> one clinical event per SNOMED CT coding, dated at onset."""
    if _status_skipped(resource, ctx):
        return []
    patient = ctx.patient(resource, "subject")
    date = _when(resource, "onsetDateTime", "onsetPeriod", "recordedDate")
    found = codes(
        resource.get("code"), "Condition.code", (SNOMED,), CodeSystem.SNOMEDCT
    )
    return [_event(patient, date, c, None) for c in found]


def observation(resource: dict[str, Any], ctx: Context) -> Mapped:
    """An Observation -> clinical events; each coded component is its own event.

    A blood-pressure panel is usually coded in LOINC with SNOMED CT-coded
    systolic and diastolic components: the components become the events the
    indicators look for, and the panel itself needs no SNOMED CT code.
    """
    if _status_skipped(resource, ctx):
        return []
    patient = ctx.patient(resource, "subject")
    date = _when(resource, "effectiveDateTime", "effectivePeriod", "issued")
    out: Mapped = []
    components = [c for c in resource.get("component") or [] if isinstance(c, dict)]
    for i, component in enumerate(components):
        path = f"Observation.component[{i}]"
        found = codes(
            component.get("code"), f"{path}.code", (SNOMED,), CodeSystem.SNOMEDCT
        )
        value = quantity(component.get("valueQuantity"), f"{path}.valueQuantity")
        out += [_event(patient, date, c, value) for c in found]
    try:
        found = codes(
            resource.get("code"), "Observation.code", (SNOMED,), CodeSystem.SNOMEDCT
        )
    except ElementProblem:
        if out:
            return out
        raise
    value = quantity(resource.get("valueQuantity"), "Observation.valueQuantity")
    return out + [_event(patient, date, c, value) for c in found]


def procedure(resource: dict[str, Any], ctx: Context) -> Mapped:
    """A Procedure -> one clinical event per SNOMED CT coding."""
    if _status_skipped(resource, ctx):
        return []
    patient = ctx.patient(resource, "subject")
    date = _when(resource, "performedDateTime", "performedPeriod")
    found = codes(
        resource.get("code"), "Procedure.code", (SNOMED,), CodeSystem.SNOMEDCT
    )
    return [_event(patient, date, c, None) for c in found]


def immunization(resource: dict[str, Any], ctx: Context) -> Mapped:
    """An Immunization -> events for the vaccine and the vaccination procedure.

    QOF and screening indicators look for the procedure code (e.g. seasonal
    influenza vaccination), which UK Core carries in an extension beside the
    vaccine product code.
    """
    if _status_skipped(resource, ctx):
        return []
    patient = ctx.patient(resource, "patient")
    date = _when(resource, "occurrenceDateTime")
    found = codes(
        resource.get("vaccineCode"),
        "Immunization.vaccineCode",
        (SNOMED,),
        CodeSystem.SNOMEDCT,
    )
    for i, ext in enumerate(resource.get("extension") or []):
        if isinstance(ext, dict) and ext.get("url") == VACCINATION_PROCEDURE_EXTENSION:
            found += codes(
                ext.get("valueCodeableConcept"),
                f"Immunization.extension[{i}].valueCodeableConcept",
                (SNOMED,),
                CodeSystem.SNOMEDCT,
            )
    return [_event(patient, date, c, None) for c in dict.fromkeys(found)]


def medication(resource: dict[str, Any], ctx: Context) -> Mapped:
    """A MedicationRequest/MedicationStatement -> one `medications` row (dm+d)."""
    if _status_skipped(resource, ctx):
        return []
    kind = str(resource.get("resourceType"))
    patient = ctx.patient(resource, "subject")
    if kind == "MedicationRequest":
        date = _when(resource, "authoredOn")
    else:
        date = _when(resource, "effectiveDateTime", "effectivePeriod", "dateAsserted")
    if "medicationCodeableConcept" not in resource:
        raise ElementProblem(
            f"{kind}.medicationCodeableConcept",
            "medicationReference" if "medicationReference" in resource else None,
            "the medicine coded inline (medicationCodeableConcept with a dm+d coding)",
        )
    found = codes(
        resource["medicationCodeableConcept"],
        f"{kind}.medicationCodeableConcept",
        DMD_SYSTEMS,
        CodeSystem.DMD,
    )
    return [
        ("medications", {"patient_id": patient, "date": date, "dmd_code": found[0]})
    ]


MAPPERS: dict[str, Callable[[dict[str, Any], Context], Mapped]] = {
    "EpisodeOfCare": registration,
    "Condition": condition,
    "Observation": observation,
    "Procedure": procedure,
    "Immunization": immunization,
    "MedicationRequest": medication,
    "MedicationStatement": medication,
}
"""Resource types read in the second pass (Patient and Organization are read
first, because everything else refers to them)."""
