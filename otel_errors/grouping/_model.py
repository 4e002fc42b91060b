"""Types of the grouping seam: what goes into a fingerprint and what comes out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Frame:
    """One stack frame as parsed from `exception.stacktrace` text."""

    function: str = ""
    module: str = ""  # dotted module / class / package, where the language has one
    filename: str = ""  # path as printed
    lineno: int | None = None
    colno: int | None = None
    in_app: bool = True
    raw: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "module": self.module,
            "filename": self.filename,
            "lineno": self.lineno,
            "colno": self.colno,
            "inApp": self.in_app,
        }


@dataclass(frozen=True, slots=True)
class ExceptionInput:
    """What the processor knows about one exception when it asks for a fingerprint."""

    type: str = ""
    message: str = ""
    stacktrace: str = ""
    # Span/log attributes (already scrubbed): error.fingerprint, error.type, http.response.status_code, ...
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GroupingConfig:
    """Per-workspace grouping settings. `config_id` names the algorithm and is stored beside each fingerprint."""

    config_id: str = "v1"
    in_app_include: tuple[str, ...] = ()
    in_app_exclude: tuple[str, ...] = ()
    # How many of the root cause's frames (in-app ones when there are any) make the fingerprint.
    max_frames: int = 1


@dataclass(frozen=True, slots=True)
class Component:
    """A node of the fingerprint's explanation tree (Sentry-style)."""

    id: str
    contributes: bool
    hint: str = ""  # why it did not contribute, e.g. "ignored: site-packages frame"
    values: tuple[Component | str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "contributes": self.contributes,
            "hint": self.hint,
            "values": [v.to_dict() if isinstance(v, Component) else v for v in self.values],
        }


@dataclass(frozen=True, slots=True)
class GroupingResult:
    fingerprint: str  # 32 lowercase hex
    config_id: str
    title: str  # short display title: "Type: parametrized message"
    culprit: str  # the in-app frame held responsible, e.g. "app/tools.py in search"
    frames: tuple[Frame, ...] = ()
    chain_types: tuple[str, ...] = ()  # outermost first; the root cause last
    component: Component | None = None


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One exception of a printed chain, with its frames innermost (crashing) frame first."""

    type: str = ""
    message: str = ""
    frames: tuple[Frame, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedTrace:
    """`exception.stacktrace` text as parsed: the chain outermost first, so the root cause is last."""

    language: str = ""  # "python", "java", "dotnet", "javascript", "go", "ruby", "php", "native", "" if unknown
    chain: tuple[ChainLink, ...] = ()

    @property
    def root(self) -> ChainLink | None:
        """The root cause: the innermost link that has frames (else the innermost link)."""
        for link in reversed(self.chain):
            if link.frames:
                return link
        return self.chain[-1] if self.chain else None
