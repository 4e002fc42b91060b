"""One source of labels (issue 15, item 5): the core's enums are the truth; the API's types, its OpenAPI document
and its label-shaped models follow them. Every check runs over every labelled type, not one example."""

from __future__ import annotations

import ast
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from otel_errors import Category, Severity, Source
from otel_errors.api import ApiConfig, create_app
from otel_errors.api.labels import (
    CategoryLabel,
    ChangeableStatus,
    OriginLabel,
    SeverityFilter,
    SeverityLabel,
    SourceLabel,
    Status,
    StatusLabel,
    stored,
)
from otel_errors.api.tracking._models import BySeverity, BySource
from otel_errors.batch import Origin

ROOT = Path(__file__).resolve().parent.parent
CORE_ENUMS: list[Any] = [Severity, Category, Source, Origin]
# (type, the members it takes, the label of "no member" or None)
LABELLED: list[tuple[Any, list[Any], str | None]] = [
    (SeverityLabel, list(Severity), None),
    (CategoryLabel, list(Category), None),
    (SourceLabel, list(Source), None),
    (OriginLabel, list(Origin), None),
    (StatusLabel, list(Status), None),
    (ChangeableStatus, [Status.NEW, Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.IGNORED], None),
    (SeverityFilter, list(reversed(Severity)), "all"),
]
IDS = [str(labelled.__name__) for labelled, _, _ in LABELLED]


@pytest.mark.parametrize("labelled,members,everything", LABELLED, ids=IDS)
def test_every_label_reads_as_its_member_and_writes_back(
    labelled: Any, members: list[Any], everything: str | None
) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(labelled)
    for member in members:
        assert adapter.validate_python(member.label) is member
        assert adapter.validate_json(f'"{member.label}"') is member
        assert adapter.validate_python(member) is member
        assert adapter.dump_python(member) == member.label
        assert adapter.dump_json(member) == f'"{member.label}"'.encode()
    if everything is not None:
        assert adapter.validate_python(everything) is None


@pytest.mark.parametrize("labelled,members,everything", LABELLED, ids=IDS)
def test_anything_else_is_refused_in_the_words_of_a_literal(
    labelled: Any, members: list[Any], everything: str | None
) -> None:
    """Members of another enum with the same integer value (IntEnums compare equal), the stored integers, labels
    of other types, other cases and nonsense are all refused."""
    adapter: TypeAdapter[Any] = TypeAdapter(labelled)
    taken = set(map(id, members))
    strangers: list[Any] = [m for enum in [*CORE_ENUMS, Status] for m in enum if id(m) not in taken]
    strangers += [int(m) for m in members if isinstance(m, int)]
    labels = ([everything] if everything else []) + [m.label for m in members]
    strangers += [m.label for enum in [*CORE_ENUMS, Status] for m in enum] + ["all"]  # labels of other types
    strangers += [m.label.upper() for m in members] + ["", "bogus", None, 1.5, b"low"]
    strangers = [s for s in strangers if isinstance(s, Enum) or s not in labels]
    expected = ", ".join(repr(label) for label in labels[:-1]) + f" or {labels[-1]!r}"
    for stranger in strangers:
        with pytest.raises(ValidationError) as refused:
            adapter.validate_python(stranger)
        error = refused.value.errors()[0]
        assert (error["type"], error["msg"]) == ("literal_error", f"Input should be {expected}"), stranger


def test_the_openapi_document_lists_each_core_enum_once_by_its_labels() -> None:
    schemas = create_app(ApiConfig(database_url="postgresql://unused")).openapi()["components"]["schemas"]
    for labelled, members, everything in LABELLED:
        listed = schemas[labelled.__name__]
        assert listed["type"] == "string"
        assert listed["enum"] == ([everything] if everything else []) + [m.label for m in members]
    # Only the labelled types: no integer schema of a core enum leaks in beside them.
    assert not {enum.__name__ for enum in CORE_ENUMS} & set(schemas)
    assert all(schema.get("type") != "integer" or "enum" not in schema for schema in schemas.values())


@pytest.mark.parametrize("model,enum", [(BySeverity, Severity), (BySource, Source)])
def test_label_shaped_models_have_one_field_per_label(model: Any, enum: Any) -> None:
    assert set(model.model_fields) == {member.label for member in enum}


@pytest.mark.parametrize(
    "enum,default", [(Severity, Severity.MEDIUM), (Category, Category.UNKNOWN), (Origin, Origin.SPAN_EVENT)]
)
def test_a_stored_value_this_version_does_not_know_reads_as_the_default(enum: Any, default: Any) -> None:
    for member in enum:
        assert stored(enum, int(member), default=default) is member
    for unknown in (0, -1, max(enum) + 1, 2**31):
        assert stored(enum, unknown, default=default) is default


def test_no_route_module_imports_another() -> None:
    """Shared conversions live in api/_convert.py, the error-tracking object in api/tracking/: a route that
    imports another route would couple two endpoints through a third's internals."""
    routes = ROOT / "api" / "routes"
    names = {path.stem for path in routes.glob("*.py")} - {"__init__"}
    for path in routes.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported = {node.module} if node.module else {alias.name for alias in node.names}
                assert not imported & names, f"{path.name} imports {imported & names}"
