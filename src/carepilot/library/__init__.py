"""The standard indicator library: YAML definitions grouped by clinical area.

Each area is a folder of this package (`clinical/`, `registers/`, `prevention/`,
`hospital/`, `outcomes/`, `rights/`); `examples/` holds the engine's worked
examples and is not part of the library proper. Codelist paths in the
definitions (`codelists/<name>.csv`) resolve to the shipped codelists
(`carepilot.codelists`). Metadata pages for clinicians are rendered by
`carepilot.library.metadata` into `docs/library/`.
"""

from __future__ import annotations

from pathlib import Path

from carepilot.errors import DefinitionError
from carepilot.indicators.model import IndicatorDefinition

AREAS: tuple[str, ...] = (
    "clinical",
    "registers",
    "prevention",
    "hospital",
    "outcomes",
    "rights",
)
"""Library folders, in the order pages and listings present them."""

AREA_TITLES: dict[str, str] = {
    "clinical": "Clinical quality (QOF-style, with exceptions)",
    "registers": "Disease registers: recorded and expected prevalence",
    "prevention": "Prevention and health promotion",
    "hospital": "Hospital use and integration",
    "outcomes": "Outcomes: mortality, PROMs and patient experience",
    "rights": "NHS Constitution rights",
}


def library_dir() -> Path:
    """The folder holding the library (this package's directory)."""
    return Path(__file__).resolve().parent


def definition_paths() -> list[Path]:
    """The area folders of the library, excluding `examples/`.

    `carepilot indicators list|run` can default to these
    (``load_definitions(definition_paths())``).
    """
    return [library_dir() / area for area in AREAS]


def definition_files() -> list[Path]:
    """Every library YAML file, sorted by area then file name."""
    out: list[Path] = []
    for folder in definition_paths():
        out.extend(sorted(folder.glob("*.yaml")))
    return out


def area_of(definition: IndicatorDefinition) -> str:
    """The library area (folder name) a loaded definition came from."""
    parent = Path(definition.source).parent.name
    return parent if parent in AREAS else "other"


def load_library() -> list[IndicatorDefinition]:
    """Load and validate every library definition (area order, then file name).

    Raises:
        DefinitionError: a definition is invalid or two share an id.
    """
    from carepilot.engine.definitions import load_definitions

    return load_definitions(definition_paths())


def get_definition(indicator_id: str) -> IndicatorDefinition:
    """Load one library definition by id.

    Raises:
        DefinitionError: no library indicator has that id.
    """
    from carepilot.engine.definitions import load_file

    for file in definition_files():
        if file.stem == indicator_id:
            return load_file(file)
    known = ", ".join(f.stem for f in definition_files())
    raise DefinitionError(
        f"no library indicator `{indicator_id}`; library indicators are: {known}"
    )


__all__ = [
    "AREAS",
    "AREA_TITLES",
    "area_of",
    "definition_files",
    "definition_paths",
    "get_definition",
    "library_dir",
    "load_library",
]
