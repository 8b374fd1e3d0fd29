"""Small FHIR R4 exports built in code, for the FHIR conversion tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

GOOD = Path(__file__).resolve().parent / "data" / "good"
SCT = "http://snomed.info/sct"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
ETHNIC = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"


def concept(code: str, system: str = SCT) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def patient(
    pid: str, birth: str, gender: str, ethnic: str | None = None, **extra: Any
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Patient",
        "id": pid,
        "birthDate": birth,
        "gender": gender,
    }
    if ethnic is not None:
        res["extension"] = [
            {"url": ETHNIC, "valueCodeableConcept": {"coding": [{"code": ethnic}]}}
        ]
    res.update(extra)
    return res


def registration(
    pid: str, ods: str, start: str, end: str | None = None
) -> dict[str, Any]:
    period = {"start": start} | ({"end": end} if end else {})
    return {
        "resourceType": "EpisodeOfCare",
        "id": f"reg-{pid}-{ods}",
        "status": "active" if end is None else "finished",
        "patient": {"reference": f"Patient/{pid}"},
        "managingOrganization": {"identifier": {"system": ODS, "value": ods}},
        "period": period,
    }


def condition(pid: str, code: str, onset: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "subject": {"reference": f"Patient/{pid}"},
        "code": concept(code),
        "onsetDateTime": onset,
    } | extra


def bp(pid: str, when: str, systolic: float, diastolic: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "code": concept("85354-9", "http://loinc.org"),
        "component": [
            {
                "code": concept("72313002"),
                "valueQuantity": {"value": systolic, "unit": "mm[Hg]"},
            },
            {
                "code": concept("1091811000000102"),
                "valueQuantity": {"value": diastolic, "unit": "mm[Hg]"},
            },
        ],
    }


def prescription(pid: str, dmd: str, authored: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": authored,
        "medicationCodeableConcept": concept(dmd),
    } | extra


def write_ndjson(folder: Path, name: str, resources: list[dict[str, Any]]) -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
    return path


def hypertension_export(folder: Path) -> Path:
    """Four patients at practice A81001, three with hypertension.

    - p1 (1950, female, Indian): hypertension 2015, BP 130/80 on 2024-01-10 -> controlled
    - p2 (1960, male): hypertension 2018, BP 150/85 on 2024-02-01 -> not controlled
    - p3 (1970-05-17 birth, male, Z): hypertension 2020; a BP entered in error is
      skipped, so no reading -> not controlled
    - p4 (1980, female): no hypertension; statin prescribed
    """
    folder.mkdir(parents=True, exist_ok=True)
    for table in ("practices", "commissioners"):
        shutil.copy(GOOD / f"{table}.csv", folder / f"{table}.csv")
    write_ndjson(
        folder,
        "Patient.ndjson",
        [
            patient("p1", "1950-03-02", "female", "H"),
            patient("p2", "1960-07", "male"),
            patient("p3", "1970-05-17", "male", "Z"),
            patient(
                "p4", "1980-01-01", "female", deceasedDateTime="2024-03-20T10:00:00Z"
            ),
        ],
    )
    write_ndjson(
        folder,
        "EpisodeOfCare.ndjson",
        [registration(p, "A81001", "2010-01-01") for p in ("p1", "p2", "p3", "p4")],
    )
    write_ndjson(
        folder,
        "Condition.ndjson",
        [
            condition("p1", "38341003", "2015-06-01"),
            condition("p2", "59621000", "2018-02-03T09:30:00+01:00"),
            condition("p3", "38341003", "2020-11-30"),
        ],
    )
    error = bp("p3", "2024-02-10", 120, 70) | {"status": "entered-in-error"}
    write_ndjson(
        folder,
        "Observation.ndjson",
        [bp("p1", "2024-01-10", 130, 80), bp("p2", "2024-02-01", 150, 85), error],
    )
    write_ndjson(
        folder,
        "MedicationRequest.ndjson",
        [prescription("p4", "319996000", "2024-01-05")],
    )
    return folder
