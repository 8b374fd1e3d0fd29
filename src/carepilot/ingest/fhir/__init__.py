"""Read HL7 FHIR R4 resources (bulk-data NDJSON or Bundles) into the data model.

`convert_fhir(source, out_dir)` maps Patient, EpisodeOfCare (practice
registrations), Condition, Observation, Procedure, Immunization,
MedicationRequest and MedicationStatement resources to the data model's CSV
files, which the normal validated, atomic load (`carepilot.ingest.load_extract`)
then loads. Problems are reported with the FHIR file, line (NDJSON) or entry
(Bundle), the element path, the value and what was expected; nothing is written
when any resource is wrong.
"""

from carepilot.ingest.fhir.convert import ConvertResult, convert_fhir, holds_fhir

__all__ = ["ConvertResult", "convert_fhir", "holds_fhir"]
