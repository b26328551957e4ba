"""The shipped JSON Schema agrees with `grounding check` on what a valid file is."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from assistant.library.loader import BUNDLED_DIR, yaml_files
from tests.test_check import MALFORMED, VALID

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "assistant" / "library" / "exercise.schema.json"

# Malformed cases whose problem is a shape or type the schema can express (the
# rest are YAML syntax, encodings, aliases, cross-file ids or counts).
SCHEMA_LEVEL = {
    "top-level-list", "top-level-scalar", "missing-id", "bad-id", "unknown-key", "unknown-phase-key",
    "bad-kind", "seconds-text", "seconds-zero", "seconds-negative", "seconds-huge", "cycles-float",
    "cycles-zero", "cycles-and-minutes", "no-length", "two-phase-names", "phases-not-list",
    "say-number", "say-empty", "both-body", "step-unknown", "step-pause-negative",
    "listen-no-timeout", "say-cycles-bad", "cue-unknown-control",
}


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", yaml_files(BUNDLED_DIR), ids=lambda p: p.name)
def test_bundled_files_match_the_schema(validator, path):
    """Every bundled file is valid under the schema editors use."""
    errors = list(validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8"))))
    assert not errors, [e.message for e in errors]


def test_valid_example_matches_the_schema(validator):
    """The valid test file is valid under the schema too."""
    validator.validate(yaml.safe_load(VALID))


@pytest.mark.parametrize("case", [m for m in MALFORMED if m[0] in SCHEMA_LEVEL], ids=lambda m: m[0])
def test_schema_rejects_what_check_rejects(validator, case):
    """Each shape error `grounding check` reports is also rejected by the schema."""
    _, content, _, _ = case
    assert not validator.is_valid(yaml.safe_load(content))


def test_schema_is_shipped_as_package_data():
    """The schema is reachable as package data, so an installed copy has it for editors."""
    from importlib.resources import files

    assert json.loads(files("assistant.library").joinpath("exercise.schema.json").read_text(encoding="utf-8"))["$id"]
