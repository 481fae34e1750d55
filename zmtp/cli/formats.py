"""How messages look on the command line: one message per line, frames as text, hex or JSON.

Text is for people (non-printable bytes shown as ``\\xNN``); ``--hex`` and ``--json`` round-trip any
bytes, so scripts can pipe one ``zmtp`` peer into another.
"""

from __future__ import annotations

import binascii
import json
from typing import Any, List, Optional

MODES = ("text", "hex", "json")


class FormatError(ValueError):
    """An input line that cannot be turned into frames in the chosen mode."""


def _printable(frame: bytes) -> str:
    text = frame.decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else repr(c)[1:-1] for c in text)


def format_message(frames: List[bytes], mode: str = "text", separator: Optional[str] = None) -> str:
    """One output line for a received message."""
    if mode == "hex":
        return (separator if separator is not None else " ").join(f.hex() or "-" for f in frames)
    if mode == "json":
        out: List[Any] = []
        for f in frames:
            try:
                out.append(f.decode("utf-8"))
            except UnicodeDecodeError:
                out.append({"hex": f.hex()})
        return json.dumps(out)
    return (separator if separator is not None else "\t").join(_printable(f) for f in frames)


def parse_line(line: str, mode: str = "text", separator: Optional[str] = None) -> List[bytes]:
    """The frames an input line stands for (the trailing newline already removed).

    text: the line is one frame, or is split at ``separator`` when one is given; hex: frames are
    separated by whitespace (or ``separator``), ``-`` is an empty frame; json: a JSON string (one
    frame) or array of frames, each a string (sent as UTF-8) or ``{"hex": "..."}``.
    """
    if mode == "hex":
        parts = line.split(separator) if separator is not None else line.split()
        try:
            return [b"" if p.strip() == "-" else binascii.unhexlify(p.strip()) for p in parts] or [b""]
        except (binascii.Error, ValueError) as e:
            raise FormatError(f"not hex: {line!r} ({e})") from None
    if mode == "json":
        try:
            value = json.loads(line)
        except ValueError as e:
            raise FormatError(f"not JSON: {line!r} ({e})") from None
        items = value if isinstance(value, list) else [value]
        frames = []
        for item in items:
            if isinstance(item, str):
                frames.append(item.encode("utf-8"))
            elif isinstance(item, dict) and isinstance(item.get("hex"), str):
                try:
                    frames.append(binascii.unhexlify(item["hex"]))
                except (binascii.Error, ValueError) as e:
                    raise FormatError(f"bad hex frame {item!r} ({e})") from None
            else:
                raise FormatError(f"a JSON frame is a string or {{\"hex\": ...}}, not {item!r}")
        return frames or [b""]
    if separator is not None:
        return [p.encode("utf-8") for p in line.split(separator)]
    return [line.encode("utf-8")]
