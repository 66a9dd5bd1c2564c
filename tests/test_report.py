"""lab.report on run directories with known values: tidy CSV, seed bands, heat map, one HTML page."""

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from PIL import Image

from lab.report import load_runs, summarise, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def fake_run(root, name, loop, fraction, seed, fd_values):
    """A run directory in the lab's format (what lab.experiment writes), with chosen metric values."""
    run = root / name
    (run / "samples").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create({"seed": seed, "loop": {"name": loop, "real_fraction": fraction}}), run / "config.yaml")
    OmegaConf.save(OmegaConf.create([f"loop={loop}", f"loop.real_fraction={fraction}", f"seed={seed}"]), run / "overrides.yaml")
    with (run / "metrics.jsonl").open("w") as f:
        for g, fd in enumerate(fd_values):
            f.write(json.dumps({"generation": g, "metrics/fd_classifier": fd, "metrics/classes_present": 1.0 - 0.1 * g,
                                "provenance/real": 10, "class_histogram": [1, 2], "samples": f"samples/gen_{g:03d}.png"}) + "\n")
            Image.fromarray(np.full((12, 12), 40 * g + 20 * seed, dtype=np.uint8)).save(run / "samples" / f"gen_{g:03d}.png")
    return run


@pytest.fixture
def sweep(tmp_path):
    root = tmp_path / "multirun"
    for seed, offset in enumerate((0.0, 1.0, 2.0)):
        fake_run(root, f"{seed}", "mixed", 0.5, seed, [10 + offset, 20 + offset, 30 + offset])
        fake_run(root, f"{3 + seed}", "mixed", 0.25, seed, [10 + offset, 40 + offset, 80 + offset])
    return root


def test_tidy_table(sweep):
    table = load_runs([sweep])
    assert table.run.nunique() == 6
    assert set(table.metric) == {"metrics/fd_classifier", "metrics/classes_present", "provenance/real"}
    assert len(table) == 6 * 3 * 3  # runs × generations × scalar metrics (lists and paths are left out)
    row = table[(table.real_fraction == 0.25) & (table.seed == 2) & (table.generation == 2) & (table.metric == "metrics/fd_classifier")]
    assert row.value.tolist() == [82.0]
    assert set(table.condition) == {"loop=mixed, real_fraction=0.25", "loop=mixed, real_fraction=0.5"}
    assert "loop.real_fraction" in table.columns  # the overrides as columns


def test_band_over_seeds(sweep):
    summary = summarise(load_runs([sweep]), "metrics/fd_classifier")
    last = summary[(summary.condition == "loop=mixed, real_fraction=0.5") & (summary.generation == 2)].iloc[0]
    # Values 30, 31, 32: mean 31, sd 1, 95% t-interval half-width t(0.975, 2) / √3 = 4.303 / 1.732.
    assert last["mean"] == pytest.approx(31.0) and last["count"] == 3
    assert last["high"] - last["mean"] == pytest.approx(4.302653 / np.sqrt(3), rel=1e-5)


def test_report_files(sweep, tmp_path):
    out = tmp_path / "report"
    page = write_report([sweep], out)
    csv = pd.read_csv(out / "runs.csv")
    assert len(csv) == 54 and {"run", "generation", "metric", "value", "seed", "loop.real_fraction"} <= set(csv.columns)
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert "metrics_fd_classifier.png" in plots and "last_samples.png" in plots
    assert any(p.startswith("heatmap_mixed") for p in plots)
    text = page.read_text()
    # Self-contained: every image is inlined, nothing refers to a file beside it except the CSV link.
    assert text.count("<img") == len(plots) == len(re.findall(r"src='data:image/png;base64,", text))
    assert "31 [" in text  # the last-generation table shows the mean with its band


def test_cli(sweep, tmp_path):
    result = subprocess.run([sys.executable, "-m", "lab.report", str(sweep), "--out", str(tmp_path / "r")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "r" / "report.html").is_file()
    bad = subprocess.run([sys.executable, "-m", "lab.report", str(tmp_path / "nope")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: ")


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_page_in_headless_chromium(sweep, tmp_path):
    page = write_report([sweep], tmp_path / "report")
    url = page.resolve().as_uri()
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, *profile, "--virtual-time-budget=10000", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120).stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    images = len(list((tmp_path / "report" / "plots").iterdir()))
    assert f'data-images-loaded="{images}"' in body and 'data-images-broken="0"' in body, body
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, *profile, "--window-size=1200,1600", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.01  # not blank: text and plots are drawn
