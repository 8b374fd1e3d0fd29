"""Find and load indicator definition files (the I/O side of `carepilot.indicators.load`).

Codelist and expected-rate table paths in a definition are resolved, in order,
relative to the definition's folder, each of the extra `codelist_dirs`, the
codelists shipped with carepilot (`src/carepilot/codelists`) and the shipped
library (`src/carepilot/library`, e.g. `expected/dementia.csv`). A file of the
same relative path in a `codelist_dirs` folder therefore replaces a shipped one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from carepilot.errors import DefinitionError
from carepilot.indicators.load import load_definition
from carepilot.indicators.model import IndicatorDefinition

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CODELISTS = PACKAGE_ROOT / "codelists"
SHIPPED_LIBRARY = PACKAGE_ROOT / "library"


def definition_files(paths: Iterable[Path]) -> list[Path]:
    """YAML files named by `paths` (files, or folders searched recursively).

    Raises:
        DefinitionError: a path does not exist or a folder holds no YAML.
    """
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")])
            if not found:
                raise DefinitionError(f"{path}: no .yaml indicator definitions found")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise DefinitionError(f"{path}: no such file or folder")
    return out


def _reader(base: Path, codelist_dirs: Sequence[Path]):  # type: ignore[no-untyped-def]
    roots = [
        base,
        *codelist_dirs,
        SHIPPED_CODELISTS,
        SHIPPED_CODELISTS.parent,
        SHIPPED_LIBRARY,
    ]

    def read(rel: str) -> str | None:
        for root in roots:
            candidate = root / rel
            if candidate.is_file():
                return candidate.read_text(encoding="utf-8")
        return None

    return read


def load_file(path: Path, codelist_dirs: Sequence[Path] = ()) -> IndicatorDefinition:
    """Load one definition file."""
    text = path.read_text(encoding="utf-8")
    return load_definition(text, str(path), _reader(path.parent, codelist_dirs))


def load_definitions(
    paths: Iterable[Path], codelist_dirs: Sequence[Path] = ()
) -> list[IndicatorDefinition]:
    """Load every definition under `paths`, reporting all files' errors together.

    Raises:
        DefinitionError: one or more files are invalid, or two share an id.
    """
    errors: list[str] = []
    out: list[IndicatorDefinition] = []
    seen: dict[str, str] = {}
    for file in definition_files(paths):
        try:
            definition = load_file(file, codelist_dirs)
        except DefinitionError as exc:
            errors.append(str(exc))
            continue
        if definition.id in seen:
            errors.append(
                f"{file}: id `{definition.id}` is already used by {seen[definition.id]}; "
                "ids must be unique"
            )
            continue
        seen[definition.id] = str(file)
        out.append(definition)
    if errors:
        raise DefinitionError("\n".join(errors))
    return out
