"""Python tracebacks, as `traceback.format_exception` prints them, chains included.

Python prints the root cause first and the outermost exception last, each block's frames outermost first;
we return the chain outermost first and frames innermost first, like every other parser.
"""

from __future__ import annotations

import re

from .._model import ChainLink, Frame
from ._common import make_frame, split_type_message

_FRAME = re.compile(r'\s*+File "(?P<file>[^"]*+)", line (?P<line>\d++)(?:, in (?P<func>.+))?')
_EXCEPTION_LINE = re.compile(r"(?P<type>[A-Za-z_][\w.]*+)(?::\s?(?P<msg>.*))?$")
_CHAIN_MARKERS = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)


def _module_from_path(path: str) -> str:
    """`.../site-packages/requests/models.py` -> `requests.models`; other paths give no module."""
    for marker in ("site-packages/", "dist-packages/"):
        cut = path.rfind(marker)
        if cut >= 0:
            tail = path[cut + len(marker) :]
            return tail[:-3].replace("/", ".") if tail.endswith(".py") else tail.replace("/", ".")
    return ""


def parse_python(lines: list[str]) -> list[ChainLink]:
    blocks: list[ChainLink] = []  # in printed order: root cause first
    frames: list[Frame] = []
    exc_type, message = "", ""
    for line in lines:
        # Exception groups indent their members behind "| "; their frames still count.
        stripped = line.strip().lstrip("|+-").strip() if line.lstrip().startswith(("|", "+-")) else line.strip()
        if stripped.startswith('File "'):
            m = _FRAME.match(stripped)
            if m:
                if exc_type:  # a new traceback without a chain marker: close the previous block
                    blocks.append(ChainLink(exc_type, message, tuple(reversed(frames))))
                    frames, exc_type, message = [], "", ""
                path = m["file"].replace("\\", "/")
                frames.append(make_frame("python", line, m["func"] or "", _module_from_path(path), path, m["line"]))
                continue
        if stripped in _CHAIN_MARKERS:
            blocks.append(ChainLink(exc_type, message, tuple(reversed(frames))))
            frames, exc_type, message = [], "", ""
            continue
        if not stripped or stripped.startswith("Traceback (most recent call last)"):
            continue
        if line[:1].isspace():
            continue  # a source line, a caret line, or an indented continuation
        if not exc_type and _EXCEPTION_LINE.match(stripped.partition(":")[0] + ":"):
            exc_type, message = split_type_message(stripped)
        elif exc_type and not frames and not message:
            message = stripped
    if exc_type or frames:
        blocks.append(ChainLink(exc_type, message, tuple(reversed(frames))))
    blocks.reverse()
    return blocks
