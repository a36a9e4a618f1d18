"""One FIX message's fields: split into (tag, value) pairs exactly as simplefix would, and its CheckSum.

Used by the framer on every message that is not on its fast path (and by tests and error messages);
the fast path in ``framing`` splits clean SOH input itself.
"""

from __future__ import annotations

from typing import Final
from zlib import adler32

from simplefix.data import RAW_LEN_TAGS

SOH: Final = b"\x01"
RAW_LEN: Final = frozenset(b"%d" % t for t in RAW_LEN_TAGS)
RAW_LEN_TEXT: Final = frozenset(str(t) for t in RAW_LEN_TAGS)
NOT_SEPARATOR: Final = bytes(b for b in range(256) if b not in (1, 61))  # all but SOH and '='
_ALTERNATING: Final = b"=\x01" * 50_000


class FramingError(ValueError):
    """A message that cannot be framed or split; the text is the quarantine reason."""


def split_fields(msg: bytes) -> list[tuple[int, bytes]]:
    """(tag, value) pairs of one SOH-form message, exactly as simplefix would return them."""
    flat = split_flat(msg)[1]
    return list(zip(map(int, flat[0::2]), flat[1::2], strict=True))


def split_flat(msg: bytes) -> tuple[dict[bytes, bytes], list[bytes]]:
    """A tag → value dict and the flat [tag, value, ...] list of one SOH-form message.

    Fast path, all in C: when the separators strictly alternate '=' SOH '=' SOH ..., every tag is
    plain digits without a leading zero and no value is empty, one replace + split gives every pair
    with no per-field Python work. Anything else (values holding '=', raw data fields, errors) goes
    field by field.
    """
    seps = msg.translate(None, NOT_SEPARATOR)
    if (
        seps == _ALTERNATING[: len(seps)]
        and seps[-1:] == SOH
        and b"=\x01" not in msg
        and b"\x01=" not in msg
        and b"\x010" not in msg
    ):
        flat = msg.replace(b"=", SOH).split(SOH)
        del flat[-1]
        if b"".join(flat[0::2]).isdigit():
            it = iter(flat)
            tags = dict(zip(it, it, strict=True))
            if RAW_LEN.isdisjoint(tags):
                return tags, flat
    pairs = _split_careful(msg)
    flat = [x for t, v in pairs for x in (b"%d" % t, v)]
    it = iter(flat)
    return dict(zip(it, it, strict=True)), flat


def split_text(msg: bytes) -> tuple[dict[str, str], list[str], str]:
    """``split_flat`` as text, plus the message text: one decode for the whole message.

    The separator check runs on the bytes (where ``translate`` is fast), the split on the text.
    Non-UTF-8 messages and the careful cases decode value by value, escaping bad bytes.
    """
    seps = msg.translate(None, NOT_SEPARATOR)
    if (
        _ALTERNATING.startswith(seps)
        and seps[-1:] == SOH
        and b"=\x01" not in msg
        and b"\x01=" not in msg
        and b"\x010" not in msg
    ):
        try:
            text = msg.decode()
        except UnicodeDecodeError:
            text = ""
        if text:
            flat = text.replace("=", "\x01").split("\x01")
            del flat[-1]
            tag_text = "".join(flat[0::2])
            if tag_text.isdigit() and tag_text.isascii():
                it = iter(flat)
                tags = dict(zip(it, it, strict=True))
                if RAW_LEN_TEXT.isdisjoint(tags):
                    return tags, flat, text
    flat_b = split_flat(msg)[1]
    tflat = [v.decode("utf-8", "backslashreplace") for v in flat_b]
    it = iter(tflat)
    return dict(zip(it, it, strict=True)), tflat, msg.decode("utf-8", "backslashreplace")


def split_values(text: str) -> tuple[list[str], str] | None:
    """One message's values in order and its shape (its tags joined by SOH), when the text is whole
    ``tag=value<SOH>`` fields, tag and value non-empty and free of '=' and SOH, and one byte per
    character (nothing above U+00FF); otherwise None. Tags are not checked further.

    The reference for ``adapters/fix/_splitc.c``, which the framer uses where it is built (the two
    give the same results: tests/fix/test_split.py); this runs where it is not."""
    if not text.endswith("\x01") or max(text) > "\xff":
        return None
    values: list[str] = []
    tags: list[str] = []
    for field in text[:-1].split("\x01"):
        tag, eq, value = field.partition("=")
        if not (tag and eq and value) or "=" in value:
            return None
        tags.append(tag)
        values.append(value)
    return values, "\x01".join(tags)


def _split_careful(msg: bytes) -> list[tuple[int, bytes]]:
    """Field by field, honouring raw data fields (whose values may hold SOH), with precise errors."""
    pairs: list[tuple[int, bytes]] = []
    pos, n, raw_len = 0, len(msg), 0
    while pos < n:
        eq = msg.find(b"=", pos)
        end_field = msg.find(SOH, pos)
        if eq < 0 or (0 <= end_field < eq):
            stop = end_field if end_field >= 0 else n
            raise FramingError(f"field {len(pairs) + 1} has no '=': {msg[pos:stop][:40]!r}")
        tag_text = msg[pos:eq]
        if not tag_text.isdigit():
            raise FramingError(f"non-numeric tag {tag_text[:40]!r} in field {len(pairs) + 1}")
        tag = int(tag_text)
        if raw_len:
            end = eq + 1 + raw_len
            if msg[end : end + 1] != SOH:
                raise FramingError(f"raw data field {tag} is not {raw_len} bytes long")
            raw_len = 0
        else:
            end = msg.find(SOH, eq + 1)
            if end < 0:
                raise FramingError(f"field {tag} is not terminated by a delimiter")
        value = msg[eq + 1 : end]
        if not value:
            raise FramingError(f"empty value for tag {tag}")
        if b"%d" % tag in RAW_LEN:
            if not value.isdigit():
                raise FramingError(
                    f"non-numeric length {value[:20]!r} in raw data length tag {tag}"
                )
            raw_len = int(value)
        pairs.append((tag, value))
        pos = end + 1
    return pairs


def checksum(buf: bytes) -> int:
    """The FIX CheckSum: byte sum mod 256, at C speed.

    zlib.adler32's low half is 1 + the byte sum mod 65521, which is the exact sum for up to 256
    bytes (256 * 255 < 65521), so longer input is summed in 256-byte chunks.
    """
    if len(buf) <= 256:
        return ((adler32(buf) & 0xFFFF) - 1) & 255
    total = 0
    for i in range(0, len(buf), 256):
        total += (adler32(buf[i : i + 256]) & 0xFFFF) - 1
    return total & 255
