"""The report's single HTML page: every image inlined as base64, so the file opens from disk anywhere."""

import base64
import html
from pathlib import Path

import pandas as pd

# Marks the page once every image has decoded (a browser test reads these attributes), and shows a
# visible note in place of an image that failed.
_CHECK_IMAGES = """
<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const broken = images.filter(i => !i.complete || i.naturalWidth === 0);
  broken.forEach(i => i.insertAdjacentHTML("afterend", "<p class='broken'>image failed to load</p>"));
  document.body.dataset.imagesLoaded = images.length - broken.length;
  document.body.dataset.imagesBroken = broken.length;
  document.body.dataset.pageWidth = document.documentElement.scrollWidth;  // wider than the window: a table runs off
});
</script>
"""

_STYLE = """
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
figure { display: inline-block; vertical-align: top; width: 48%; margin: 1rem 1% 0 0; }
figure.wide { width: 98%; } img { max-width: 100%; border: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9rem; } td, th { padding: 0.2rem 0.6rem; border-bottom: 1px solid #eee; }
.scroll { max-width: 100%; overflow-x: auto; } details { margin-top: 2rem; } summary { font-size: 1.2rem; cursor: pointer; }
.broken { color: #b00; font-weight: bold; }
</style>
"""


def write_html(
    path: Path, figures: list[tuple[str, Path]], tables: list[tuple[str, pd.DataFrame]], runs: int, sources: list[str], more: list[tuple[str, Path]] = ()
) -> Path:
    """The first table (the declared claims' verdicts), then the headline figures and sample grids, then the other
    (exploratory) tables; `more` (every other metric) folded into one <details>."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Self-consumption lab report</title>",
        _STYLE,
        "</head><body>",
        "<h1>Self-consumption lab: regime comparison</h1>",
        f"<p>{runs} runs from {html.escape(', '.join(sources))}. Bands: 95% t-interval for the mean over seeds (n in each "
        "legend), cut at the metric's range ([0, 1] for shares and coverages, ≥ 0 for distances and ratios). "
        "Data: <a href='runs.csv'>runs.csv</a> (one row per run × generation × metric) and the CSV files beside this "
        "page.</p>",
    ]
    parts += _tables(tables[:1])
    parts.append("<h2 id='figures'>Figures</h2>")
    parts += [_figure(title, image) for title, image in figures]
    parts += _tables(tables[1:])
    if more:
        parts.append(f"<details><summary>Every other metric ({len(more)} figures)</summary>")
        parts += [_figure(title, image) for title, image in more]
        parts.append("</details>")
    parts += [_CHECK_IMAGES, "</body></html>"]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _tables(tables: list[tuple[str, pd.DataFrame]]) -> list[str]:
    parts = []
    for heading, table in tables:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if len(table):
            parts.append(f"<div class='scroll'>{table.to_html(index=False, border=0, na_rep='')}</div>")
    return parts


def _figure(title: str, image: Path) -> str:
    encoded = base64.b64encode(Path(image).read_bytes()).decode()
    wide = " class='wide'" if title.startswith("samples by generation") else ""
    return (
        f"<figure{wide}><figcaption><h3>{html.escape(title)}</h3></figcaption><img alt='{html.escape(title)}' src='data:image/png;base64,{encoded}'></figure>"
    )
