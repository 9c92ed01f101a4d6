"""Draw deskwork's icon (a blue tile with a white form and table) as PNG, ICO and ICNS.

Pure standard library, so the icons can be redrawn anywhere: python assets/make_icons.py
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
BLUE, WHITE, CLEAR = (37, 99, 235, 255), (255, 255, 255, 255), (0, 0, 0, 0)


def pixel(x: float, y: float) -> tuple[int, int, int, int]:
    """Colour at (x, y) in a unit square."""
    r = 0.18  # corner radius
    cx, cy = min(max(x, r), 1 - r), min(max(y, r), 1 - r)
    if (x - cx) ** 2 + (y - cy) ** 2 > r * r:
        return CLEAR
    inside = 0.22 <= x <= 0.78 and 0.24 <= y <= 0.78
    if inside:
        row_lines = any(abs(y - t) < 0.025 for t in (0.24, 0.40, 0.51, 0.62, 0.78))
        col_lines = any(abs(x - t) < 0.025 for t in (0.22, 0.45, 0.78))
        header = y < 0.40
        if row_lines or col_lines or header:
            return WHITE
    return BLUE


def png(size: int) -> bytes:
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel((i + 0.5) / size, (j + 0.5) / size)) for i in range(size))
        for j in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def ico(images: dict[int, bytes]) -> bytes:
    # ICO files may hold PNG images (Windows Vista and later).
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    data = b""
    for size, image in images.items():
        out += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(image), offset)
        offset += len(image)
        data += image
    return out + data


def icns(images: dict[str, bytes]) -> bytes:
    body = b"".join(kind.encode() + struct.pack(">I", len(d) + 8) + d for kind, d in images.items())
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def main() -> None:
    sizes = {s: png(s) for s in (32, 128, 256)}
    (HERE / "deskwork.png").write_bytes(sizes[256])
    (HERE / "deskwork.ico").write_bytes(ico(sizes))
    (HERE / "deskwork.icns").write_bytes(icns({"ic07": sizes[128], "ic08": sizes[256]}))


if __name__ == "__main__":
    main()
