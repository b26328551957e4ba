"""Safe YAML reading that remembers the line of every value, for errors people can find.

PyYAML's `safe_load` forgets where things came from, silently keeps the last of
two duplicate keys, and expands aliases without limit (a "billion laughs" file
takes the machine down). Here the file is composed into nodes with the safe
loader and walked by hand, so each value's line is kept, duplicate keys are
reported and alias expansion and nesting are bounded.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# More than this many values in one exercise file means aliases are being used
# to multiply content: real files have a few hundred.
MAX_VALUES = 20_000
MAX_FILE_BYTES = 1_000_000
# Real files nest five or six levels. PyYAML composes nodes recursively, so
# without a bound a run of brackets ("[[[[...") ends in a RecursionError.
MAX_DEPTH = 100
# No value in these files is a number this large; past it a number is a typo or
# text that should be quoted (and Python cannot even print one of 4,300 digits).
MAX_WHOLE_NUMBER = 10**15
_INT_TAG = "tag:yaml.org,2002:int"

PathKey = tuple  # a path into the document: keys and list indices


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in a file, at a line a person can go to."""

    file: str
    line: int  # 1-based
    message: str
    is_warning: bool = False

    def __str__(self) -> str:
        tag = "warning: " if self.is_warning else ""
        return f"{self.file}:{self.line}: {tag}{printable(self.message)}"


def printable(text: str) -> str:
    """Text safe to print on one line: line breaks, control and format characters written as escapes.

    A message quotes what was in the file, and a key such as '\\r' or U+2028 must not
    break the one-line FILE:LINE: format, nor a lone surrogate crash the print.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


@dataclass
class Document:
    """A parsed YAML file: plain Python data plus the line of every value in it."""

    file: str
    data: Any
    lines: dict[PathKey, int]

    def line_of(self, path: PathKey) -> int:
        """The line of the value at `path`, or of its nearest parent that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class YamlProblem(Exception):
    """The file is not usable YAML; carries the Problem to report."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def read_document(path: Path, display_name: str | None = None) -> Document:
    """Read and parse one YAML file without ever modifying it; raises YamlProblem."""
    name = display_name or str(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise YamlProblem(Problem(name, 1, "this is a folder, not a file; give the YAML file inside it"))
        if not stat.S_ISREG(info.st_mode):
            # A pipe would wait for a writer for ever, and /dev/zero never ends.
            raise YamlProblem(Problem(name, 1, "this is not a regular file (a pipe or a device?); give a YAML file"))
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)  # never more, whatever the file grew to since stat
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise YamlProblem(Problem(name, 1, f"cannot read the file: {getattr(exc, 'strerror', None) or exc}")) from None
    if len(raw) > MAX_FILE_BYTES:
        raise YamlProblem(
            Problem(name, 1, f"the file is {max(info.st_size, len(raw)):,} bytes; exercise files must be under {MAX_FILE_BYTES:,}")
        )
    return parse_document(raw, name)


def parse_document(raw: bytes, name: str) -> Document:
    """Parse YAML bytes into a Document; raises YamlProblem with file and line."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlProblem(
            Problem(name, line, "this is not UTF-8 text (is it a binary file?); save it as UTF-8 YAML")
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise YamlProblem(Problem(name, line, "the file contains NUL bytes; it looks binary, not YAML"))
    loader = None
    try:
        loader = _BoundedLoader(text)  # its reader already rejects control characters
        node = loader.get_single_node()
    except _TooDeep as exc:
        raise YamlProblem(Problem(name, exc.line, _too_deep_message())) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or "invalid YAML"
        raise YamlProblem(Problem(name, line, f"YAML syntax error: {what}{_syntax_hint(what)}")) from None
    except yaml.YAMLError as exc:  # ReaderError (control characters) has a position, not a mark
        position = getattr(exc, "position", 0) or 0
        line = text[:position].count("\n") + 1
        reason = getattr(exc, "reason", None) or "unreadable characters"
        raise YamlProblem(Problem(name, line, f"not readable as YAML text: {reason}")) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        raise YamlProblem(Problem(name, 1, "the file is empty; an exercise needs at least id, title and kind"))
    walker = _Walker(name, loader)
    data = walker.value(node, ())
    return Document(name, data, walker.lines)


class _TooDeep(Exception):
    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def _too_deep_message() -> str:
    return (
        f"the values here are nested more than {MAX_DEPTH} levels deep; "
        "look for brackets [ or { that are never closed, or aliases (*name) inside each other"
    )


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing to compose nodes nested deeper than MAX_DEPTH."""

    depth = 0

    def compose_node(self, parent, index):
        if self.depth >= MAX_DEPTH:
            raise _TooDeep(self.peek_event().start_mark.line + 1)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _syntax_hint(problem: str) -> str:
    """A short suggestion for the syntax errors people make most when hand-editing."""
    if "tab" in problem:
        return " (indent with spaces, not tabs)"
    if "mapping values are not allowed" in problem:
        return " (a text containing ': ' must be quoted)"
    if "could not find expected ':'" in problem or "expected <block end>" in problem:
        return " (check the indentation of this line and the one before)"
    return ""


_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"


class _Walker:
    """Turns composed nodes into Python values, recording lines and bounding alias expansion."""

    def __init__(self, name: str, loader: yaml.SafeLoader):
        self.name = name
        self.loader = loader
        self.lines: dict[PathKey, int] = {}
        self.count = 0
        self.active: set[int] = set()

    def fail(self, node: yaml.Node, message: str) -> YamlProblem:
        return YamlProblem(Problem(self.name, node.start_mark.line + 1, message))

    def value(self, node: yaml.Node, path: PathKey) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise self.fail(
                node,
                f"more than {MAX_VALUES:,} values once aliases are expanded; "
                "remove the repeated aliases (*name) that multiply this file",
            )
        if len(path) > MAX_DEPTH:  # aliases can nest blocks that are each shallow
            raise self.fail(node, _too_deep_message())
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if node.tag == "tag:yaml.org,2002:set":
            raise self.fail(node, "sets (!!set) are not used in exercise files; use a list")
        if node.tag not in (_SEQ_TAG, _MAP_TAG):
            raise self.fail(node, f"the tag {node.tag} is not allowed here; remove it and write plain YAML")
        if id(node) in self.active:
            raise self.fail(node, "an alias refers to the block that contains it; remove the recursive alias")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.value(item, path + (index,)) for index, item in enumerate(node.value)]
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: yaml.ScalarNode) -> Any:
        """One plain value; anything PyYAML cannot build from it (a 13th month, `!!int abc`) is a problem, not a crash."""
        too_large = self.fail(node, "this number is too large to be meant; if it is text (a phone number, a code), put it in quotes")
        if node.tag == _INT_TAG and len(node.value) > 20:
            raise too_large  # decimal text this long cannot even be converted (Python's 4,300-digit limit)
        try:
            value = self.loader.construct_object(node, deep=True)
        except Exception as exc:  # PyYAML's constructors raise ValueError, KeyError, AttributeError as well as YAMLError
            reason = getattr(exc, "problem", None) or str(exc) or type(exc).__name__
            raise self.fail(node, f"cannot read this value ({reason}); put it in quotes if it is text") from None
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_WHOLE_NUMBER:
            raise too_large
        return value

    def mapping(self, node: yaml.MappingNode, path: PathKey) -> dict:
        result: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.fail(key_node, "merge keys (<<) are not supported; write the keys out")
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "a key must be a plain word, not a list or mapping")
            key = self.value(key_node, path + ("<key>",))
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                raise self.fail(key_node, f"'{key}' appears twice here; keep one of them")
            self.lines[path + (key,)] = key_node.start_mark.line + 1
            result[key] = self.value(value_node, path + (key,))
        return result


def build_optional_file(path: Path, build) -> tuple[object | None, Problem | None]:
    """Read and build a file the person may or may not have (settings, resources).

    Returns (None, None) when there is no such file, (value, None) when it is
    usable, and (None, first error) when it is not, so the caller can keep its
    defaults and say why.
    """
    if not path.is_file():
        return None, None
    try:
        value, problems = build(read_document(path))
    except YamlProblem as exc:
        return None, exc.problem
    if value is None:
        return None, next((p for p in problems if not p.is_warning), Problem(str(path), 1, "unusable"))
    return value, None
