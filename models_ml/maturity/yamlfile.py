"""YAML files read with the line of every mapping key, so that an error names the file and line.

Mappings load as `Located` dicts (`.line`, and `.lines[key]` for each key); duplicate keys are errors
(PyYAML silently keeps the last one).
"""

from __future__ import annotations

from pathlib import Path

import yaml


class MaturityFileError(ValueError):
    """A questionnaire, stage rules or answers file that cannot be used; the message names file and line."""


class Located(dict):
    """A mapping that remembers where it and each of its keys were written (1-based lines)."""

    line: int = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines: dict[object, int] = {}

    def line_of(self, key: object) -> int:
        return self.lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    out = Located()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise MaturityFileError(f"{loader.name}:{key_node.start_mark.line + 1}: duplicate key {key!r} "
                                    f"(first at line {out.lines[key]})")
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: Path) -> Located:
    """The file's top-level mapping; a file that is not YAML, or not a mapping, raises MaturityFileError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MaturityFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise MaturityFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    loader = _Loader(text)
    loader.name = str(path)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise MaturityFileError(f"{where}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise MaturityFileError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, Located):
        raise MaturityFileError(f"{path}: expected a mapping of keys to values at the top, got "
                                f"{type(data).__name__}")
    return data


def located_error(path: Path, line: int, message: str) -> MaturityFileError:
    """An error naming the file and line it is about."""
    return MaturityFileError(f"{path}:{line}: {message}")


def new_id(node: Located, seen: set[str], path: Path, kind: str) -> str:
    """The `id` of a list item (a section, a capability): an identifier not used before in `seen`, added to it."""
    value = node.get("id")
    if not isinstance(value, str) or not value.isidentifier():
        raise located_error(path, node.line_of("id"), f"{kind} id {value!r} must be an identifier")
    if value in seen:
        raise located_error(path, node.line_of("id"), f"{kind} {value!r} is defined twice")
    seen.add(value)
    return value
