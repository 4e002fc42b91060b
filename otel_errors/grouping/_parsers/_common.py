"""Helpers shared by the per-language parsers."""

from __future__ import annotations

from .._inapp import default_in_app
from .._model import ChainLink, Frame


def make_frame(
    language: str,
    raw: str,
    function: str = "",
    module: str = "",
    filename: str = "",
    lineno: str | int | None = None,
    colno: str | int | None = None,
) -> Frame:
    return Frame(
        function=function,
        module=module,
        filename=filename,
        lineno=_to_int(lineno),
        colno=_to_int(colno),
        in_app=default_in_app(language, module, filename),
        raw=raw.strip(),
    )


def _to_int(value: str | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return int(value) if value.isdigit() else None


def split_type_message(line: str) -> tuple[str, str]:
    """`pkg.Type: message` -> ("pkg.Type", "message"); a line without `: ` is all type when it looks like one."""
    head, sep, rest = line.partition(": ")
    head = head.strip()
    if sep:
        return head, rest.strip()
    if line.endswith(":"):
        return line[:-1].strip(), ""
    return head, ""


class ChainBuilder:
    """Accumulates links of a chain in the order they are printed."""

    __slots__ = ("links", "type", "message", "frames")

    def __init__(self) -> None:
        self.links: list[ChainLink] = []
        self.type = ""
        self.message = ""
        self.frames: list[Frame] = []

    def start(self, exc_type: str, message: str) -> None:
        self.close()
        self.type, self.message = exc_type, message

    def close(self) -> None:
        if self.type or self.message or self.frames:
            self.links.append(ChainLink(self.type, self.message, tuple(self.frames)))
        self.type, self.message, self.frames = "", "", []

    def finish(self) -> list[ChainLink]:
        self.close()
        return self.links
