"""The API's labelled values, each defined once: the core's stored enums shown by their labels, and the statuses.

The core's enums (`otel_errors.classify.Severity`, `Category`, `Source`, `otel_errors.batch.Origin`) are stored as
small integers and carry a `.label`; the response models and query parameters hold the members themselves,
typed, and pydantic reads and writes them as those labels (`ByLabel`), so the OpenAPI document lists the allowed
labels without a hand-written copy of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema
from typing_extensions import TypeAliasType

from otel_errors import Category, Severity, Source
from otel_errors.batch import Origin

__all__ = [
    "ByLabel",
    "CategoryLabel",
    "ChangeableStatus",
    "OriginLabel",
    "SeverityFilter",
    "SeverityLabel",
    "SourceLabel",
    "Status",
    "StatusLabel",
    "stored",
]


class Status(StrEnum):
    """An error's workflow status (stored as this text; the errors table's CHECK constraint lists the same)."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    IGNORED = "ignored"

    @property
    def label(self) -> str:
        return self.value


Member = Severity | Category | Source | Origin | Status


def _label(member: Member) -> str:
    return member.label


@dataclass(frozen=True, slots=True)
class ByLabel:
    """Pydantic metadata: a field holding one of `members`, read and written as its label.

    `everything`: a label that stands for no member at all (None), e.g. `severity=all` meaning no filter."""

    members: tuple[Member, ...]
    everything: str | None = None

    def _labels(self) -> list[str]:
        return ([self.everything] if self.everything is not None else []) + [member.label for member in self.members]

    def __get_pydantic_core_schema__(self, _source: Any, _handler: GetCoreSchemaHandler) -> CoreSchema:
        by_label: dict[str, Member | None] = {member.label: member for member in self.members}
        if self.everything is not None:
            by_label[self.everything] = None
        members = self.members
        *others, last = [repr(label) for label in self._labels()]
        expected = f"{', '.join(others)} or {last}" if others else last  # worded as pydantic's Literal errors

        def validate(value: object) -> Member | None:
            for member in members:  # by identity: IntEnum members of different enums compare equal as integers
                if value is member:
                    return member
            if isinstance(value, str) and value in by_label:
                return by_label[value]
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _label, return_schema=core_schema.str_schema()
            ),
        )

    def __get_pydantic_json_schema__(self, _schema: CoreSchema, _handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema: JsonSchemaValue = {"type": "string", "enum": self._labels()}
        if self.everything is not None:
            schema["default"] = self.everything  # what leaving the parameter out means
        return schema


# Named types: the OpenAPI document lists each one's labels once, under its name. (A bare `Annotated[Severity, ...]`
# would also bring the enum's own integer schema into the document, unused: FastAPI collects every Enum it sees.)
SeverityLabel = TypeAliasType("SeverityLabel", Annotated[Severity, ByLabel(tuple(Severity))])
CategoryLabel = TypeAliasType("CategoryLabel", Annotated[Category, ByLabel(tuple(Category))])
SourceLabel = TypeAliasType("SourceLabel", Annotated[Source, ByLabel(tuple(Source))])
OriginLabel = TypeAliasType("OriginLabel", Annotated[Origin, ByLabel(tuple(Origin))])
StatusLabel = TypeAliasType("StatusLabel", Annotated[Status, ByLabel(tuple(Status))])
# A query parameter: "all" (None: no filter) or a severity, the most severe first.
SeverityFilter = TypeAliasType(
    "SeverityFilter", Annotated[Severity | None, ByLabel(tuple(reversed(Severity)), everything="all")]
)
# The statuses POST .../status sets; resolving takes POST .../resolve and its body.
ChangeableStatus = TypeAliasType(
    "ChangeableStatus",
    Annotated[Status, ByLabel((Status.NEW, Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.IGNORED))],
)

E = TypeVar("E", Severity, Category, Source, Origin)


def stored(enum: Callable[[int], E], value: int, *, default: E) -> E:
    """The member stored as `value`; `default` for a value this version does not know."""
    try:
        return enum(value)
    except ValueError:
        return default
