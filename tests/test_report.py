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
from lab.report_verdict import contrasts, floors, survival, verdicts

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


FLOOR = {"fd_classifier": 5.0, "classes_present": 1.0, "precision": 0.8, "recall": 0.9, "classes/share_ratio_0": 1.0}


def fake_run(root, name, loop, fraction, seed, fd_values, extra=lambda g: {}):
    """A run directory in the lab's format (what lab.experiment writes), with chosen metric values."""
    run = root / name
    (run / "samples").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create({"seed": seed, "loop": {"name": loop, "real_fraction": fraction}}), run / "config.yaml")
    OmegaConf.save(OmegaConf.create([f"loop={loop}", f"loop.real_fraction={fraction}", f"seed={seed}"]), run / "overrides.yaml")
    (run / "reference.json").write_text(json.dumps({"real_baseline": FLOOR | {"class_histogram": [1, 2]}}))
    with (run / "metrics.jsonl").open("w") as f:
        for g, fd in enumerate(fd_values):
            f.write(json.dumps({"generation": g, "metrics/fd_classifier": fd, "metrics/classes_present": 1.0 - 0.1 * g,
                                "provenance/real": 10, "class_histogram": [1, 2], "samples": f"samples/gen_{g:03d}.png"} | extra(g)) + "\n")
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
    histogram = {"class_histogram/0", "class_histogram/1"}  # the recognised samples per class, one metric each
    assert set(table.metric) == {"metrics/fd_classifier", "metrics/classes_present", "provenance/real"} | histogram
    assert len(table) == 6 * 3 * 5  # runs × generations × (scalar metrics + classes); paths are left out
    assert table[table.metric == "class_histogram/1"].value.eq(2.0).all()
    row = table[(table.real_fraction == 0.25) & (table.seed == 2) & (table.generation == 2) & (table.metric == "metrics/fd_classifier")]
    assert row.value.tolist() == [82.0]
    assert set(table.condition) == {"loop=mixed, real_fraction=0.25", "loop=mixed, real_fraction=0.5"}
    assert "loop.real_fraction" in table.columns  # the overrides as columns


def test_settings_that_leave_the_science_alone_do_not_split_a_condition(sweep):
    # One seed re-run later with tracking and threads given on the command line: still the same condition.
    extra = sweep / "6"
    fake_run(sweep, "6", "mixed", 0.5, 3, [13.0, 23.0, 33.0])
    OmegaConf.save(OmegaConf.create(["loop=mixed", "loop.real_fraction=0.5", "seed=3", "tracking=offline",
                                     "tracking.mode=disabled", "threads=1", "cache_dir=/elsewhere"]), extra / "overrides.yaml")
    table = load_runs([sweep])
    assert set(table.condition) == {"loop=mixed, real_fraction=0.25", "loop=mixed, real_fraction=0.5"}
    summary = summarise(table, "metrics/fd_classifier")
    assert summary[summary.condition == "loop=mixed, real_fraction=0.5"]["count"].max() == 4
    # A setting that does change the science still splits it.
    OmegaConf.save(OmegaConf.create(["loop=mixed", "loop.real_fraction=0.5", "seed=3", "train.lr=1e-3"]), extra / "overrides.yaml")
    assert "loop=mixed, train.lr=1e-3, real_fraction=0.5" in set(load_runs([sweep]).condition)


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
    assert len(csv) == 90 and {"run", "generation", "metric", "value", "seed", "loop.real_fraction"} <= set(csv.columns)
    plots = sorted(p.name for p in (out / "plots").iterdir())
    # One strip of samples per condition, generation by generation.
    assert "metrics_fd_classifier.png" in plots and {"samples_0.png", "samples_1.png"} <= set(plots)
    assert any(p.startswith("heatmap_mixed") for p in plots)
    text = page.read_text()
    # Self-contained: every image is inlined, nothing refers to a file beside it except the CSV link.
    assert text.count("<img") == len(plots) == len(re.findall(r"src='data:image/png;base64,", text))
    assert "31 [" in text  # the last-generation table shows the mean with its band
    # Paired by seed: 0.25 − 0.5 is 50 in every seed at generation 2.
    assert pd.read_csv(out / "contrasts.csv").iloc[0]["fd_classifier"] == "+50 [+50, +50] *"
    assert "seed by seed" in text


def test_verdicts_fit_the_change_per_generation(sweep):
    table = load_runs([sweep])
    verdict = verdicts(table, ["metrics/fd_classifier", "metrics/classes_present"], "metrics/fd_classifier", 3.0).set_index("condition")
    # FD 10+o, 20+o, 30+o for seeds o = 0, 1, 2: slope 10 on every seed, an interval of zero width.
    assert verdict.loc["loop=mixed, real_fraction=0.5", "fd_classifier"] == "+10 [+10, +10] *"
    # 10, 40, 80 (+o): least-squares slope 35.
    assert verdict.loc["loop=mixed, real_fraction=0.25", "fd_classifier"].startswith("+35 [")
    assert verdict.loc["loop=mixed, real_fraction=0.5", "classes_present"] == "-0.1 [-0.1, -0.1] *"
    # Floor 5, k = 3: FD first above 15 at generation 1 (means 21 and 41); k = 20 (100): never.
    column = "fd_classifier > 3× floor (15) at generation"
    assert verdict[column].tolist() == ["1", "1"]
    never = verdicts(table, [], "metrics/fd_classifier", 20.0)
    assert never.iloc[:, -1].tolist() == ["never", "never"]


def test_slopes_spread_over_seeds_give_an_interval(tmp_path):
    for seed, slope in enumerate((1.0, 2.0, 3.0)):
        fake_run(tmp_path, f"{seed}", "fresh", 0.5, seed, [10 + slope * g for g in range(4)])
    cell = verdicts(load_runs([tmp_path]), ["metrics/fd_classifier"], None, 3.0).iloc[0]["fd_classifier"]
    # Mean 2, sd 1 over 3 seeds: half-width t(0.975, 2)/√3 = 2.484.
    assert cell == "+2 [-0.484, +4.48]"


def test_contrasts_pair_the_seeds(tmp_path):
    # Seeds differ by 0, 10, 20 in both loops (the shared generation-0 luck); fully_synthetic lies 1.5, 2, 2.5
    # above fresh. fully_synthetic ran one generation more: the last shared generation, 1, is compared.
    for seed, (luck, gap) in enumerate(((0.0, 1.5), (10.0, 2.0), (20.0, 2.5))):
        fake_run(tmp_path, f"fs{seed}", "fully_synthetic", 0.0, seed, [10 + luck, 12 + luck + gap, 50.0])
        fake_run(tmp_path, f"fresh{seed}", "fresh", 0.5, seed, [10 + luck, 12 + luck])
    table = load_runs([tmp_path])
    paired = contrasts(table, ["metrics/fd_classifier"]).set_index("contrast")
    row = paired.loc["loop=fresh − loop=fully_synthetic"]
    assert row["generation"] == 1 and row["seeds"] == 3
    # Differences −1.5, −2, −2.5: mean −2, sd 0.5, half-width t(0.975, 2) · 0.5 / √3 = 1.242.
    assert row["fd_classifier"] == "-2 [-3.24, -0.758] *"
    # Unpaired, the seeds' luck (sd 10) keeps the two bands overlapping at that generation.
    bands = summarise(table, "metrics/fd_classifier").query("generation == 1").set_index("condition")
    assert bands.loc["loop=fully_synthetic", "low"] < bands.loc["loop=fresh", "high"]


def test_contrasts_use_only_shared_seeds(tmp_path):
    fake_run(tmp_path, "a0", "fresh", 0.5, 0, [10.0, 11.0])
    fake_run(tmp_path, "a1", "fresh", 0.5, 1, [10.0, 13.0])
    fake_run(tmp_path, "b1", "mixed", 0.5, 1, [10.0, 20.0])
    fake_run(tmp_path, "c2", "real_only", 1.0, 2, [10.0, 10.0])
    paired = contrasts(load_runs([tmp_path]), ["metrics/fd_classifier"]).set_index("contrast")
    # fresh and mixed share seed 1 only; real_only shares no seed with either and is left out.
    assert paired.index.tolist() == ["loop=fresh − loop=mixed"]
    assert paired.loc["loop=fresh − loop=mixed", "fd_classifier"] == "-7 (1 seed)"


def test_a_seed_given_twice_is_refused(sweep, tmp_path):
    # The same seed of the same condition again (e.g. a re-run sweep given beside the first): not a new replicate.
    again = tmp_path / "again"
    fake_run(again, "0", "mixed", 0.5, 0, [10.0, 20.0, 30.0])
    with pytest.raises(SystemExit, match=r"loop=mixed, real_fraction=0.5, seed=0 is in 2 runs .*one replicate"):
        write_report([sweep, again], tmp_path / "report")
    assert not (tmp_path / "report").exists()


def test_floors_come_from_reference_json(sweep):
    expected = {f"metrics/{k}" if not k.startswith("classes/") else k: v for k, v in FLOOR.items()}
    assert floors(load_runs([sweep])) == pytest.approx(expected)  # the mean over 6 runs of the same value


def test_minority_survival(tmp_path):
    # Class 0 stays at its share; class 1 halves every generation: below 0.5 of its real share at generation 2.
    for seed in range(2):
        fake_run(tmp_path, f"{seed}", "fully_synthetic", 0.0, seed, [10, 20, 30, 40],
                 extra=lambda g: {"classes/share_ratio_0": 1.0, "classes/share_ratio_1": 1.0 / 2 ** (g * 0.6)})
    alive = survival(load_runs([tmp_path])).iloc[0]
    assert alive["class 0"] == "survives" and alive["class 1"] == "2"
    page = write_report([tmp_path], tmp_path / "report")
    assert "Minority survival" in page.read_text() and (tmp_path / "report" / "plots" / "class_shares_0.png").exists()


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


def test_extinction_counts_seeds_that_lost_a_class_beside_the_wright_fisher_prediction(tmp_path):
    from lab.labels import wright_fisher_extinction
    from lab.report_verdict import extinction

    root = tmp_path / "multirun"
    for seed in range(4):
        # Class 1: 3 copies at generation 0; by generation 2 seeds 0 and 1 lost its labels, seed 0 its samples too.
        copies = [3, 2, 0 if seed < 2 else 5]
        samples = [4, 2, 0 if seed == 0 else 3]
        fake_run(root, f"{seed}", "fully_synthetic", 0.0, seed, [10, 11, 12],
                 extra=lambda g, c=copies, s=samples: {"data/train_size": 100, "data/label_count_0": 100 - c[g],
                                                       "data/label_count_1": c[g], "class_histogram": [50, s[g]]})
    lost = extinction(load_runs([root])).set_index("class")
    assert lost.loc[1, "predicted_lost"] == pytest.approx(wright_fisher_extinction(3, 100, 2)[-1])
    assert lost.loc[1, "copies_at_generation_0"] == 3.0
    # Exact (Clopper–Pearson) 95% intervals of 2/4 and 1/4.
    assert lost.loc[1, "lost_in_labels"] == "2/4 [0.07, 0.93]"
    assert lost.loc[1, "lost_in_samples"] == "1/4 [0.01, 0.81]"
    assert lost.loc[0, "lost_in_labels"] == "0/4 [0.00, 0.60]"


def test_coverage_by_density_is_drawn_per_condition(tmp_path):
    root = tmp_path / "multirun"
    for seed in range(2):
        fake_run(root, f"{seed}", "fully_synthetic", 0.0, seed, [10, 11],
                 extra=lambda g: {f"tails/coverage_decile_{j}": 0.9 - 0.1 * g * (j == 0) for j in range(10)})
    out = tmp_path / "report"
    page = write_report([root], out)
    assert (out / "plots" / "coverage_by_density_0.png").exists()
    assert "coverage by density, loop=fully_synthetic" in page.read_text()


def test_departures_from_the_control_are_paired_by_seed_and_name_the_first_generation(tmp_path):
    from lab.report_verdict import departures, with_tail_gap

    root = tmp_path / "multirun"
    for seed, luck in enumerate((0.0, 0.03, -0.02)):  # each seed's luck is shared by both loops: it cancels
        for loop, tail in (("fully_synthetic", [0.9, 0.8, 0.7]), ("real_only", [0.9, 0.9, 0.9])):
            fake_run(root, f"{loop}_{seed}", loop, 0.0 if loop == "fully_synthetic" else 1.0, seed, [10, 11, 12],
                     extra=lambda g, t=tail, s=luck: {"metrics/knn_coverage_tail": t[g] + s, "metrics/knn_coverage_core": 0.95 + s})
    table = with_tail_gap(load_runs([root]))
    metrics = ["metrics/knn_coverage_tail", "metrics/knn_coverage_core", "metrics/knn_coverage_tail_minus_core"]
    found = departures(table, metrics).set_index("metric")
    assert (found.control == "loop=real_only").all()
    assert found.loc["knn_coverage_tail", "first_departure"] == 1
    assert found.loc["knn_coverage_tail", "generation 2"] == "-0.2 [-0.2, -0.2] *"
    assert found.loc["knn_coverage_core", "first_departure"] == "not shown"  # identical to the control in every seed
    assert found.loc["knn_coverage_tail_minus_core", "generation 1"] == "-0.1 [-0.1, -0.1] *"
