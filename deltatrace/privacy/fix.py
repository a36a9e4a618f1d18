"""Privacy rules inside raw FIX messages: planned tags rewritten, BodyLength and CheckSum restated."""

from __future__ import annotations

import re

from deltatrace.privacy.rules import DROP, Op, Tokenizer

SOH = "\x01"
# Length field -> the data field it measures; data fields may contain SOH.
_DATA_TAGS = {"90": "91", "93": "89", "95": "96", "212": "213", "354": "355"}
_LENGTH_OF = {data: length for length, data in _DATA_TAGS.items()}
_FRAME_TAGS = frozenset({"8", "9", "10"})


def _fix_fields(raw: str) -> list[tuple[str, str]] | None:
    """(tag, value) pairs of a FIX message; None when `raw` is not tag=value FIX."""
    pieces = raw.split(SOH)
    if pieces and pieces[-1] == "":
        pieces.pop()
    parts = [p.partition("=") for p in pieces]
    if _DATA_TAGS.keys().isdisjoint([tag for tag, _, _ in parts]):
        if not all(sep and tag.isdigit() for tag, sep, _ in parts):
            return None
        return [(tag, value) for tag, _, value in parts]
    # Slow path: a data field (e.g. EncodedText) may contain SOH; glue it back by its length.
    fields: list[tuple[str, str]] = []
    pending: dict[str, int] = {}
    i = 0
    while i < len(pieces):
        tag, sep, value = pieces[i].partition("=")
        if not sep or not tag.isdigit():
            return None
        want = pending.pop(tag, None)
        while want is not None and len(value) < want and i + 1 < len(pieces):
            i += 1
            value += SOH + pieces[i]
        if tag in _DATA_TAGS and value.isdigit():
            pending[_DATA_TAGS[tag]] = int(value)
        fields.append((tag, value))
        i += 1
    return fields


def _encoding(raw: str) -> str:
    """The byte encoding under which the original BodyLength(9) holds (UTF-8 by default).

    Adapters decode FIX bytes as UTF-8 or Latin-1; with any non-ASCII character the two give
    different byte lengths, so the declared body length tells them apart.
    """
    if raw.isascii():
        return "ascii"
    for enc in ("utf-8", "latin-1"):
        try:
            data = raw.encode(enc)
        except UnicodeEncodeError:
            continue
        start = data.find(b"\x019=")
        body = data.find(b"\x01", start + 1) + 1
        trailer = data.rfind(b"\x0110=") + 1
        if 0 <= start < body <= trailer and data[start + 3 : body - 1] == b"%d" % (trailer - body):
            return enc
    return "utf-8"


def fix_frame(fields: list[tuple[str, str]], encoding: str = "utf-8") -> str:
    """Serialise FIX fields with BodyLength(9) and CheckSum(10) recomputed."""
    begin = next((v for t, v in fields if t == "8"), None)
    body = "".join([f"{t}={v}{SOH}" for t, v in fields if t not in _FRAME_TAGS])
    if begin is not None:
        size = len(body) if encoding == "ascii" else len(body.encode(encoding, "surrogateescape"))
        body = f"8={begin}{SOH}9={size}{SOH}{body}"
    checksum = sum(body.encode(encoding, "surrogateescape")) % 256
    return f"{body}10={checksum:03d}{SOH}"


def fix_needles(plan: dict[str, Op]) -> re.Pattern[str]:
    """Finds any planned tag's field in a message (``<SOH>tag=``). One expression rather than a
    substring test per tag: 0.57 against 1.97 µs a message for the default policy's 15 tags."""
    return re.compile("|".join(re.escape(f"{SOH}{tag}=") for tag in plan) or "(?!)")


def rewrite_fix(
    raw: str, plan: dict[str, Op], tok: Tokenizer, needles: re.Pattern[str] | None = None
) -> str:
    """`raw` with the planned tags rewritten; the same object when no planned tag occurs."""
    if (needles or fix_needles(plan)).search(raw) is None:
        return raw  # the common case for messages without party fields: no parse at all
    fields = _fix_fields(raw)
    if fields is None:
        return raw
    out: list[tuple[str, str]] = []
    dropped: set[str] = set()
    touched: set[str] = set()
    for tag, value in fields:
        op = plan.get(tag)
        if op is None:
            out.append((tag, value))
            continue
        touched.add(tag)
        new = op(value, tok)
        if new is DROP:
            dropped.add(tag)
        else:
            out.append((tag, str(new)))
    if not touched:
        return raw
    out = _fix_lengths(out, dropped, touched)
    return fix_frame(out, _encoding(raw))


def _fix_lengths(
    fields: list[tuple[str, str]], dropped: set[str], touched: set[str]
) -> list[tuple[str, str]]:
    """Keep each data field's length field true: drop it with its data, or restate the length."""
    values = dict(fields)
    out = []
    for tag, value in fields:
        data = _DATA_TAGS.get(tag)
        if data is not None and data in touched:
            if data in dropped:
                continue
            value = str(len(values[data]))
        if tag in _LENGTH_OF and _LENGTH_OF[tag] in dropped:
            continue
        out.append((tag, value))
    return out
