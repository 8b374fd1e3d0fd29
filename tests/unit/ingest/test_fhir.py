"""FHIR R4 conversion: mapping, located errors, nothing written on failure."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from carepilot.errors import InputDataError
from carepilot.ingest.fhir import convert_fhir, holds_fhir
from tests.fhir_fixtures import (
    bp,
    concept,
    condition,
    hypertension_export,
    patient,
    prescription,
    write_ndjson,
)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_export_converts_to_data_model_csvs(tmp_path: Path) -> None:
    src = hypertension_export(tmp_path / "export")
    assert holds_fhir(src)
    result = convert_fhir(src, tmp_path / "out")
    out = tmp_path / "out"
    pats = {r["patient_id"]: r for r in rows(out / "patients.csv")}
    # non-numeric FHIR ids are numbered in sorted order
    assert sorted(pats) == ["1", "2", "3", "4"]
    assert pats["1"]["date_of_birth"] == "1950-03-01"  # month precision
    assert pats["2"]["date_of_birth"] == "1960-07-01"
    assert pats["1"]["ethnicity"] == "Asian: Indian"
    assert pats["3"]["ethnicity"] == "Not stated"
    assert pats["2"]["ethnicity"] == "Not stated"  # no extension
    assert pats["4"]["date_of_death"] == "2024-03-20"
    assert pats["1"]["religion"] == "Not stated"  # data-model default written out
    events = rows(out / "clinical_events.csv")
    # the entered-in-error BP is skipped; each component becomes its own event
    assert [
        (e["patient_id"], e["snomedct_code"], e["numeric_value"]) for e in events
    ] == [
        ("1", "38341003", ""),
        ("2", "59621000", ""),
        ("3", "38341003", ""),
        ("1", "72313002", "130.0"),
        ("1", "1091811000000102", "80.0"),
        ("2", "72313002", "150.0"),
        ("2", "1091811000000102", "85.0"),
    ]
    assert events[1]["date"] == "2018-02-03"  # local date of a dateTime
    assert rows(out / "medications.csv") == [
        {"patient_id": "4", "date": "2024-01-05", "dmd_code": "319996000"}
    ]
    regs = rows(out / "practice_registrations.csv")
    assert {r["practice_pseudo_id"] for r in regs} == {"1"}
    assert (out / "practices.csv").exists() and (out / "commissioners.csv").exists()
    crosswalk = rows(out / "crosswalk" / "patient_ids.csv")
    assert crosswalk[0] == {"fhir_patient_id": "p1", "patient_id": "1"}
    assert result.rows["clinical_events"] == 7
    assert result.resources["Observation"] == 3
    assert any("Observation" in w and "skipped" in w for w in result.warnings)


def test_numeric_ids_are_kept_and_bundles_resolve_full_urls(tmp_path: Path) -> None:
    src = tmp_path / "export"
    src.mkdir()
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:aaa",
                "resource": patient("1001", "1940-02-10", "male"),
            },
            {
                "fullUrl": "urn:uuid:bbb",
                "resource": {
                    "resourceType": "Condition",
                    "subject": {"reference": "urn:uuid:aaa"},
                    "code": concept("38341003"),
                    "recordedDate": "2019-05-05",
                },
            },
        ],
    }
    (src / "bundle.json").write_text(json.dumps(bundle))
    convert_fhir(src, tmp_path / "out")
    assert rows(tmp_path / "out" / "patients.csv")[0]["patient_id"] == "1001"
    assert rows(tmp_path / "out" / "clinical_events.csv")[0]["patient_id"] == "1001"


@pytest.mark.parametrize(
    ("resource", "where", "fragment"),
    [
        (
            condition("p1", "38341004", "2020-01-01"),
            "Condition.code.coding[0].code",
            "Verhoeff",
        ),
        (
            condition("p9", "38341003", "2020-01-01"),
            "Condition.subject.reference",
            "Patient resource of this extract",
        ),
        (
            condition("p1", "38341003", "2020-01"),
            "Condition.onsetDateTime",
            "date with a day",
        ),
        (
            condition("p1", "38341003", "2020-02-30"),
            "Condition.onsetDateTime",
            "real calendar date",
        ),
        (
            {
                "resourceType": "Condition",
                "subject": {"reference": "Patient/p1"},
                "code": concept("X1", "http://read.info/ctv3"),
                "onsetDateTime": "2020-01-01",
            },
            "Condition.code.coding",
            "http://snomed.info/sct",
        ),
        (
            bp("p1", "2024-01-01", "high", 80),
            "Observation.component[0].valueQuantity.value",
            "JSON number",
        ),  # type: ignore[arg-type]
        (
            prescription("p1", "319996000", "2024-01-01")
            | {
                "medicationCodeableConcept": None,
                "medicationReference": {"reference": "Medication/1"},
            },
            "MedicationRequest.medicationCodeableConcept",
            "coded inline",
        ),
    ],
)
def test_bad_resources_are_located_and_nothing_is_written(
    tmp_path: Path, resource: dict[str, object], where: str, fragment: str
) -> None:
    if resource.get("medicationCodeableConcept", 1) is None:
        del resource["medicationCodeableConcept"]
    src = tmp_path / "export"
    src.mkdir()
    write_ndjson(src, "Patient.ndjson", [patient("p1", "1950-01-01", "female")])
    write_ndjson(
        src, "Other.ndjson", [condition("p1", "38341003", "2020-01-01"), resource]
    )
    with pytest.raises(InputDataError) as info:
        convert_fhir(src, tmp_path / "out")
    message = str(info.value)
    assert f"Other.ndjson line 2, column `{where}`" in message
    assert fragment in message
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # no scratch left


def test_malformed_json_line_and_bad_patient_are_reported_together(
    tmp_path: Path,
) -> None:
    src = tmp_path / "export"
    src.mkdir()
    (src / "Patient.ndjson").write_text(
        json.dumps(patient("p1", "1950", "female"))
        + "\n{not json\n"
        + json.dumps(patient("p2", "1950-01-01", "robot"))
        + "\n"
        + json.dumps(patient("p1", "1950-01-01", "male"))
        + "\n"
    )
    with pytest.raises(InputDataError) as info:
        convert_fhir(src, tmp_path / "out")
    message = str(info.value)
    assert "Patient.ndjson line 1, column `Patient.birthDate`: value '1950'" in message
    assert (
        "Patient.ndjson line 2:" in message and "one JSON resource per line" in message
    )
    assert "Patient.ndjson line 3, column `Patient.gender`: value 'robot'" in message
    assert "Patient.ndjson line 4, column `Patient.id`: value 'p1'" in message
    assert "nothing was loaded" in message


def test_registrations_need_the_practices_file(tmp_path: Path) -> None:
    src = hypertension_export(tmp_path / "export")
    (src / "practices.csv").unlink()
    with pytest.raises(InputDataError, match=r"practices\.csv.*ODS code"):
        convert_fhir(src, tmp_path / "out")


def test_registrations_at_other_organisations_are_skipped_with_a_warning(
    tmp_path: Path,
) -> None:
    src = hypertension_export(tmp_path / "export")
    write_ndjson(
        src,
        "EpisodeOfCare.ndjson",
        [
            {
                "resourceType": "EpisodeOfCare",
                "patient": {"reference": "Patient/p1"},
                "managingOrganization": {"reference": "Organization/trust"},
                "period": {"start": "2020-01-01"},
            },
            {
                "resourceType": "Organization",
                "id": "trust",
                "identifier": [
                    {
                        "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                        "value": "RX1",
                    }
                ],
            },
        ],
    )
    result = convert_fhir(src, tmp_path / "out")
    assert any("RX1" in w for w in result.warnings)
    assert not (tmp_path / "out" / "practice_registrations.csv").exists()


def test_fhir_and_csv_for_the_same_table_is_refused(tmp_path: Path) -> None:
    src = hypertension_export(tmp_path / "export")
    (src / "clinical_events.csv").write_text("patient_id,date,snomedct_code\n")
    with pytest.raises(InputDataError, match="clinical_events.csv"):
        convert_fhir(src, tmp_path / "out")


def test_no_fhir_files_and_non_empty_destination(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputDataError, match="holds no FHIR file"):
        convert_fhir(tmp_path / "empty", tmp_path / "out")
    src = hypertension_export(tmp_path / "export")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("keep me")
    with pytest.raises(InputDataError, match="not empty"):
        convert_fhir(src, tmp_path / "full")
    assert (tmp_path / "full" / "x.txt").read_text() == "keep me"


def test_files_that_are_not_utf8_are_named(tmp_path: Path) -> None:
    src = tmp_path / "export"
    src.mkdir()
    (src / "Patient.ndjson").write_bytes(b'{"resourceType": "Patient", "id": "\xff"}\n')
    (src / "bundle.json").write_bytes(b'{"resourceType": "Bundle", "x": "\xfe"}')
    with pytest.raises(InputDataError) as info:
        convert_fhir(src, tmp_path / "out")
    message = str(info.value)
    assert "Patient.ndjson:" in message and "bundle.json:" in message
    assert message.count("re-export the file as UTF-8") == 2


def test_only_json_that_holds_fhir_resources_counts(tmp_path: Path) -> None:
    folder = tmp_path / "extract"
    folder.mkdir()
    (folder / "patients.csv").write_text("patient_id\n1\n")
    (folder / "scenario.json").write_text(json.dumps({"seed": 1, "patients": 10}))
    assert not holds_fhir(folder)
    (folder / "bundle.json").write_text(
        json.dumps({"type": "collection", "resourceType": "Bundle", "entry": []})
    )
    assert holds_fhir(folder)
