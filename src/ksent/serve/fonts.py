"""Hangul on the web page where the machine has no Korean font: NanumGothic, served by ksent itself.

The font files are the ones the plots use (koreanize-matplotlib's NanumGothic, SIL OFL). Browsers
refuse them as they ship: they carry Visual TrueType's source tables (TSI0-TSI5, one of them empty),
and Chromium's font sanitizer (OTS) rejects a file with a zero-length table ("TSI3: zero-length
table"), which leaves every Hangul character a box. `web_font` rewrites the file without them:
the tables a renderer reads are copied byte for byte.
"""

import struct
from functools import cache

from ksent.errors import KsentError

# URL name -> the koreanize-matplotlib file it is made from (regular text, and headings/labels in bold)
WEB_FONTS = {"NanumGothic.ttf": "NanumGothic.ttf", "NanumGothicBold.ttf": "NanumGothicBold.ttf"}
TRUETYPE = (b"\x00\x01\x00\x00", b"true")
HEAD_ADJUSTMENT = 0xB1B0AFBA  # the whole file's checksum, once head.checkSumAdjustment is set (OpenType spec)


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(padded) // 4}I", padded)) & 0xFFFFFFFF


def tables(font: bytes) -> dict[bytes, bytes]:
    """The tables of a TrueType file, by tag."""
    if len(font) < 12 or font[:4] not in TRUETYPE:
        raise KsentError("not a TrueType font file (expected an sfnt with version 1.0 or 'true')")
    (count,) = struct.unpack(">H", font[4:6])
    if len(font) < 12 + 16 * count:
        raise KsentError(f"damaged font file: its table directory ({count} tables) runs past the end")
    out = {}
    for i in range(count):
        tag, _, offset, length = struct.unpack(">4sIII", font[12 + 16 * i : 28 + 16 * i])
        if offset + length > len(font):
            raise KsentError(f"damaged font file: table {tag.decode(errors='replace')!r} runs past the end")
        out[tag] = font[offset : offset + length]
    return out


def web_font(font: bytes) -> bytes:
    """`font` without the tables browsers refuse (empty ones, and VTT's TSI* sources), as a valid sfnt:
    tables sorted by tag, 4-byte aligned, their checksums and head.checkSumAdjustment recomputed."""
    kept = {tag: data for tag, data in tables(font).items() if data and not tag.startswith(b"TSI")}
    if b"head" in kept:  # its checksum is taken with checkSumAdjustment zeroed
        kept[b"head"] = kept[b"head"][:8] + b"\0\0\0\0" + kept[b"head"][12:]
    count = len(kept)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(">4sHHHH", font[:4], count, power * 16, power.bit_length() - 1, count * 16 - power * 16)
    records, body = [], b""
    offset = len(header) + 16 * count
    for tag in sorted(kept):
        data = kept[tag]
        records.append(struct.pack(">4sIII", tag, _checksum(data), offset + len(body), len(data)))
        body += data + b"\0" * (-len(data) % 4)
    out = bytearray(header + b"".join(records) + body)
    if b"head" in kept:
        head_at = struct.unpack(">I", records[sorted(kept).index(b"head")][8:12])[0]
        out[head_at + 8 : head_at + 12] = struct.pack(">I", (HEAD_ADJUSTMENT - _checksum(bytes(out))) & 0xFFFFFFFF)
    return bytes(out)


@cache
def web_font_bytes(name: str) -> bytes:
    """The served file `name` (a key of WEB_FONTS), made once per process."""
    from ksent.plots import korean_font_files

    source = {f.name: f for f in korean_font_files()}.get(WEB_FONTS[name])
    if source is None:
        raise KsentError(f"koreanize-matplotlib ships no {WEB_FONTS[name]}; reinstall it")
    return web_font(source.read_bytes())
