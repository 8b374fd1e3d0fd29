"""Load YAML text while remembering the line of every node.

Definition errors must name the file and line the user has to edit, so the
loader keeps a side table from a node's path (a tuple of mapping keys and list
indexes) to its 1-based line. Pure: takes text, opens nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from carepilot.errors import DefinitionError

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Located:
    """A parsed YAML document plus where each node came from.

    Attributes:
        data: the plain Python value (dicts, lists, str, int, float, bool, None).
        source: name of the file (for messages).
        lines: 1-based line of each node, keyed by its path from the root.
        block_scalars: paths of scalars written in block style (``|`` or ``>``),
            whose text starts on the line after the key.
    """

    data: Any
    source: str
    lines: Mapping[Path, int] = field(default_factory=dict[Path, int])
    block_scalars: frozenset[Path] = frozenset()

    def line(self, path: Path) -> int:
        """Return the line of `path`, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def where(self, path: Path) -> str:
        """Return ``file:line`` for messages."""
        return f"{self.source}:{self.line(path)}"


def load_yaml(text: str, source: str) -> Located:
    """Parse one YAML document keeping node lines.

    Args:
        text: the YAML text.
        source: file name used in error messages.

    Returns:
        The document and its line table.

    Raises:
        DefinitionError: the text is not valid YAML (with the line of the fault),
            or uses anchors/tags we do not support.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DefinitionError(
            f"{source}{line}: not valid YAML ({problem}); check indentation and "
            "quote text containing ':' or '#'"
        ) from None
    lines: dict[Path, int] = {}
    blocks: set[Path] = set()
    if node is None:
        return Located(None, source, {(): 1})
    data = _convert(node, (), lines, blocks, source)
    return Located(data, source, lines, frozenset(blocks))


def _convert(
    node: yaml.Node, path: Path, lines: dict[Path, int], blocks: set[Path], source: str
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if not isinstance(key_node, yaml.ScalarNode) or not isinstance(key, str):
                raise DefinitionError(
                    f"{source}:{key_node.start_mark.line + 1}: mapping keys must be plain text"
                )
            if key in out:
                raise DefinitionError(
                    f"{source}:{key_node.start_mark.line + 1}: key `{key}` appears twice; "
                    "remove one of them"
                )
            child = (*path, key)
            out[key] = _convert(value_node, child, lines, blocks, source)
            if not isinstance(value_node, yaml.ScalarNode) or value_node.style not in (
                "|",
                ">",
            ):
                lines[child] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*path, i), lines, blocks, source)
            for i, item in enumerate(node.value)
        ]
    assert isinstance(node, yaml.ScalarNode)
    if node.style in ("|", ">"):
        blocks.add(path)
    constructor = yaml.SafeLoader("")
    try:
        return constructor.construct_object(node, deep=True)  # type: ignore[no-untyped-call]
    except yaml.YAMLError:
        raise DefinitionError(
            f"{source}:{node.start_mark.line + 1}: cannot read value `{node.value}`"
        ) from None
