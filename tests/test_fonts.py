"""The web page's Hangul font: `web_font` drops the tables browsers refuse and keeps a valid sfnt."""

import struct

import pytest

from ksent.errors import KsentError
from ksent.serve.fonts import HEAD_ADJUSTMENT, _checksum, tables, web_font


def sfnt(tables_: dict[bytes, bytes]) -> bytes:
    """A TrueType container holding `tables_` in the given order (checksums left zero: the input side)."""
    header = struct.pack(">4sHHHH", b"\x00\x01\x00\x00", len(tables_), 0, 0, 0)
    offset = 12 + 16 * len(tables_)
    records, body = b"", b""
    for tag, data in tables_.items():
        records += struct.pack(">4sIII", tag, 0, offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    return header + records + body


HEAD = bytes(range(54))  # 54 bytes like a real head table; bytes 8-12 are checkSumAdjustment


def test_web_font_drops_empty_and_vtt_tables_and_keeps_the_rest_intact():
    font = sfnt({b"glyf": b"abcde", b"TSI1": b"vtt source", b"TSI3": b"", b"head": HEAD, b"cmap": b"xyz"})
    out = web_font(font)
    got = tables(out)
    assert list(got) == [b"cmap", b"glyf", b"head"]  # sorted by tag, as the spec asks
    assert got[b"glyf"] == b"abcde" and got[b"cmap"] == b"xyz"
    assert got[b"head"][:8] == HEAD[:8] and got[b"head"][12:] == HEAD[12:]
    count, search_range, selector, shift = struct.unpack(">HHHH", out[4:12])
    assert (count, search_range, selector, shift) == (3, 32, 1, 16)
    for i in range(count):
        tag, checksum, offset, length = struct.unpack(">4sIII", out[12 + 16 * i : 28 + 16 * i])
        assert offset % 4 == 0
        data = bytearray(out[offset : offset + length])
        if tag == b"head":
            data[8:12] = b"\0\0\0\0"  # the table checksum is taken with the adjustment zeroed
        assert checksum == _checksum(bytes(data)), tag
    assert _checksum(out) == HEAD_ADJUSTMENT  # the file's checksum, as head.checkSumAdjustment promises


def test_tables_refuses_what_is_not_a_truetype_file():
    with pytest.raises(KsentError, match="not a TrueType font"):
        tables(b"wOF2" + b"\0" * 40)
    damaged = bytearray(sfnt({b"glyf": b"abcd"}))
    damaged[12 + 12 : 12 + 16] = struct.pack(">I", 1000)  # length past the end of the file
    with pytest.raises(KsentError, match="'glyf' runs past the end"):
        tables(bytes(damaged))
