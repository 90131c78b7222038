"""The Hangul font the students' page offers to browsers that have none.

Most students' machines have a Korean font (Windows, macOS, Linux desktops with
fonts-nanum or Noto CJK) and never ask for this one; a bare Linux machine, a lab
image or a headless browser would otherwise show every Korean word as empty boxes.
The font is NanumGothic (SIL Open Font License) from the koreanize-matplotlib
dependency, or another installed font with Hangul (exports.charts.hangul_font), cut
down once per process to the Hangul blocks and served as WOFF: about 400 kB instead
of 4.7 MB. The hinting sources some builds carry (TSI* tables) are dropped: browsers
refuse a font with an empty one.
"""

from __future__ import annotations

import io
from functools import cache

# Hangul Jamo, Hangul Compatibility Jamo, Hangul Syllables: what the page's @font-face
# unicode-range names, so the browser asks for the font only for these characters.
HANGUL_RANGES = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7A3))
UNICODE_RANGE = ",".join(f"U+{a:04X}-{b:04X}" for a, b in HANGUL_RANGES)


@cache
def hangul_woff() -> bytes | None:
    """The Hangul font as WOFF bytes, made on first use (about a second); None when no
    font with Hangul is available."""
    from fontTools import subset

    from ..exports.charts import hangul_font

    path = hangul_font()
    if path is None:
        return None
    options = subset.Options()
    options.flavor = "woff"
    options.hinting = False
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.drop_tables += ["TSI0", "TSI1", "TSI2", "TSI3", "TSI5"]
    try:
        font = subset.load_font(str(path), options)
    except Exception:  # noqa: BLE001 - an unreadable font file: the page falls back to the student's fonts
        return None
    font.recalcTimestamp = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[c for a, b in HANGUL_RANGES for c in range(a, b + 1)])
    subsetter.subset(font)
    out = io.BytesIO()
    subset.save_font(font, out, options)
    return out.getvalue()
