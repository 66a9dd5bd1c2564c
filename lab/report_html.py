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
});
</script>
"""

_STYLE = """
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
figure { display: inline-block; vertical-align: top; width: 48%; margin: 1rem 1% 0 0; }
figure.wide { width: 98%; } img { max-width: 100%; border: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9rem; } td, th { padding: 0.2rem 0.6rem; border-bottom: 1px solid #eee; }
.broken { color: #b00; font-weight: bold; }
</style>
"""


def write_html(path: Path, figures: list[tuple[str, Path]], tables: list[tuple[str, pd.DataFrame]], runs: int, sources: list[str]) -> Path:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Self-consumption lab report</title>",
        _STYLE,
        "</head><body>",
        "<h1>Self-consumption lab: regime comparison</h1>",
        f"<p>{runs} runs from {html.escape(', '.join(sources))}. Bands: 95% t-interval over seeds. "
        "Data: <a href='runs.csv'>runs.csv</a> (one row per run × generation × metric).</p>",
    ]
    for heading, table in tables:
        if len(table):
            parts.append(f"<h2>{html.escape(heading)}</h2>")
            parts.append(table.to_html(index=False, border=0, na_rep=""))
    for title, image in figures:
        encoded = base64.b64encode(Path(image).read_bytes()).decode()
        wide = " class='wide'" if title.startswith("samples by generation") else ""
        parts.append(f"<figure{wide}><figcaption><h3>{html.escape(title)}</h3></figcaption>"
                     f"<img alt='{html.escape(title)}' src='data:image/png;base64,{encoded}'></figure>")
    parts += [_CHECK_IMAGES, "</body></html>"]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
