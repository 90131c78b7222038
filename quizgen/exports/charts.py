"""A tiny PNG canvas (pure Python, zlib): enough to draw the report's bar charts.

quizgen's dependencies are fixed and include no plotting library; a report chart
needs only rectangles and digits, so this draws them itself.
"""

from __future__ import annotations

import struct
import zlib

# 3×5 bitmap glyphs: digits and the few symbols the charts label with.
_GLYPHS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
    "8": "111101111101111", "9": "111101111001111", "%": "101001010100101", "-": "000000111000000",
    "Q": "111101101111001", "S": "111100111001111", "C": "111100100100111", "O": "111101101101111",
    "R": "110101110101101", "E": "111100111100111", "T": "111010010010010", "N": "110101101101101", ".": "000000000000010", " ": "000000000000000", "/": "001001010100100",
}


class Canvas:
    def __init__(self, width: int, height: int, background: tuple[int, int, int] = (255, 255, 255)):
        self.width, self.height = width, height
        self.rows = [bytearray(bytes(background) * width) for _ in range(height)]

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: tuple[int, int, int]) -> None:
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height, max(y0, y1))
        line = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            self.rows[y][3 * x0:3 * x1] = line

    def text(self, x: int, y: int, text: str, color: tuple[int, int, int] = (40, 40, 40), scale: int = 2) -> None:
        for ch in text:
            glyph = _GLYPHS.get(ch.upper(), _GLYPHS[" "])
            for i, bit in enumerate(glyph):
                if bit == "1":
                    gx, gy = x + (i % 3) * scale, y + (i // 3) * scale
                    self.rect(gx, gy, gx + scale, gy + scale, color)
            x += 4 * scale

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(row) for row in self.rows)

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
