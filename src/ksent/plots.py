"""Headless plotting with Hangul that renders: matplotlib on Agg with NanumGothic.

The font comes from the `koreanize-matplotlib` package, which ships NanumGothic (SIL OFL).
Only its font files are used: importing that package would change global matplotlib settings.
"""

import importlib.util
from functools import cache
from pathlib import Path

from ksent.errors import KsentError

FONT_FAMILY = "NanumGothic"


@cache
def korean_font_files() -> tuple[Path, ...]:
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise KsentError("Hangul plots need the NanumGothic font: pip install koreanize-matplotlib")
    files = sorted(Path(next(iter(spec.submodule_search_locations)), "fonts").glob("NanumGothic*.ttf"))
    if not files:
        raise KsentError("koreanize-matplotlib is installed but ships no NanumGothic*.ttf; reinstall it")
    return tuple(files)


def pyplot():
    """matplotlib.pyplot on the Agg backend with NanumGothic as the font: use this, not a bare import."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    if FONT_FAMILY not in {f.name for f in font_manager.fontManager.ttflist}:
        for f in korean_font_files():
            font_manager.fontManager.addfont(str(f))
    plt.rcParams["font.family"] = FONT_FAMILY
    plt.rcParams["axes.unicode_minus"] = False  # NanumGothic has no U+2212 minus sign
    return plt
