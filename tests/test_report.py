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
from scipy import stats

from lab.claims import parse_claims
from lab.errors import LabError
from lab.views.report import load_runs, summarise, write_report
from lab.views.report_claims import judge_claims
from lab.views.report_stats import adjust, band, interval_text, range_of, t_test
from lab.views.report_verdict import against_control, class_effects, contrasts, control_condition, floors, matched_controls, unscheduled_controls

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


FLOOR = {"fd_classifier": 5.0, "classes_present": 1.0, "precision": 0.8, "recall": 0.9, "classes/share_ratio_0": 1.0}


def fake_run(root, name, loop, fraction, seed, fd_values, extra=lambda g: {}, classifier="mnist5k-16px-0123.pt"):
    """A run directory in the lab's format (what lab.experiment writes), with chosen metric values."""
    run = root / name
    (run / "samples").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create({"seed": seed, "loop": {"name": loop, "real_fraction": fraction}}), run / "config.yaml")
    OmegaConf.save(OmegaConf.create([f"loop={loop}", f"loop.real_fraction={fraction}", f"seed={seed}"]), run / "overrides.yaml")
    reference = {
        "real_baseline": FLOOR | {"class_histogram": [1, 2]},
        "num_samples": 1000,
        "classifier": {"path": f"/cache/classifiers/{classifier}", "heldout_accuracy": 0.95},
    }
    (run / "reference.json").write_text(json.dumps(reference))
    with (run / "metrics.jsonl").open("w") as f:
        for g, fd in enumerate(fd_values):
            f.write(
                json.dumps(
                    {
                        "generation": g,
                        "metrics/fd_classifier": fd,
                        "metrics/classes_present": 1.0 - 0.1 * g,
                        "provenance/real": 10,
                        "class_histogram": [1, 2],
                        "samples": f"samples/gen_{g:03d}.png",
                    }
                    | extra(g)
                )
                + "\n"
            )
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
    OmegaConf.save(
        OmegaConf.create(["loop=mixed", "loop.real_fraction=0.5", "seed=3", "tracking=offline", "tracking.mode=disabled", "threads=1", "cache_dir=/elsewhere"]),
        extra / "overrides.yaml",
    )
    table = load_runs([sweep])
    assert set(table.condition) == {"loop=mixed, real_fraction=0.25", "loop=mixed, real_fraction=0.5"}
    summary = summarise(table, "metrics/fd_classifier")
    assert summary[summary.condition == "loop=mixed, real_fraction=0.5"]["count"].max() == 4
    # A setting that does change the science still splits it.
    OmegaConf.save(OmegaConf.create(["loop=mixed", "loop.real_fraction=0.5", "seed=3", "train.lr=1e-3"]), extra / "overrides.yaml")
    assert "loop=mixed, train.lr=1e-3, real_fraction=0.5" in set(load_runs([sweep]).condition)


def test_a_setting_named_in_one_sweep_only_is_read_from_the_other_runs_configs(tmp_path):
    # One sweep left sampler.labels to its preset (training_set), the other named uniform: both are labelled.
    for seed in range(2):
        for name, labels, named in (("a", "training_set", False), ("b", "uniform", True)):
            run = fake_run(tmp_path, f"{name}{seed}", "fully_synthetic", 0.0, seed, [10, 11])
            cfg = OmegaConf.load(run / "config.yaml")
            cfg.sampler = {"labels": labels}
            cfg.model = {"name": "tiny", "layers": 1}
            OmegaConf.save(cfg, run / "config.yaml")
            extra = ["sampler.labels=uniform", "model=tiny"] if named else []
            OmegaConf.save(OmegaConf.create(["loop=fully_synthetic", f"seed={seed}", *extra]), run / "overrides.yaml")
    assert set(load_runs([tmp_path]).condition) == {"loop=fully_synthetic, sampler.labels=training_set", "loop=fully_synthetic, sampler.labels=uniform"}


def test_band_over_seeds(sweep):
    summary = summarise(load_runs([sweep]), "metrics/fd_classifier")
    last = summary[(summary.condition == "loop=mixed, real_fraction=0.5") & (summary.generation == 2)].iloc[0]
    # Values 30, 31, 32: mean 31, sd 1; the band is the t-interval for the mean, 31 ± t(0.975, 2) · 1 / √3.
    half = 4.302653 / np.sqrt(3)
    assert last["mean"] == pytest.approx(31.0) and last["count"] == 3
    assert (last["low"], last["high"]) == pytest.approx((31.0 - half, 31.0 + half), rel=1e-6)


def test_a_figure_title_says_how_many_seeds_and_what_its_band_is(sweep):
    import matplotlib.pyplot as plt

    from lab.views.report_plots import plot_metric

    table = load_runs([sweep])
    title = plot_metric(table, "metrics/fd_classifier").get_title()
    assert re.search(r"mean of [\d–]+ seeds, 95% band for the mean over seeds", title), title
    one_seed = table[table.seed == table.seed.min()]
    assert "mean of 1 seed, no band (one seed)" in plot_metric(one_seed, "metrics/fd_classifier").get_title()
    plt.close("all")


def test_a_long_decimal_reads_short_in_a_label_unless_two_conditions_would_read_alike():
    from lab.views.report_load import condition_labels

    def labels(weights):
        table = pd.DataFrame({"loop": "mixed", "real_fraction": 0.5, "train.synthetic_weight": weights, "seed": 0})
        return sorted(set(condition_labels(table)))

    assert labels([1 / 9, 1.0, 2000.0]) == [f"loop=mixed, train.synthetic_weight={w}" for w in ("0.1111", "1.0", "2000.0")]
    # 1.0000000001 would read 1.0 beside 1 (as two runs' settings may be written): both keep their full text.
    assert labels(["1", "1.0000000001"]) == ["loop=mixed, train.synthetic_weight=1", "loop=mixed, train.synthetic_weight=1.0000000001"]
    # Both would read 0.1111: each keeps its full text, so a label still names one condition.
    assert labels([1 / 9, 0.11111111119]) == ["loop=mixed, train.synthetic_weight=0.1111111111111111", "loop=mixed, train.synthetic_weight=0.11111111119"]


def test_the_legend_sits_below_the_curves(sweep):
    import matplotlib.pyplot as plt

    from lab.views.report_plots import plot_metric

    ax = plot_metric(load_runs([sweep]), "metrics/fd_classifier")
    ax.figure.canvas.draw()
    legend, axes = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.y1 < axes.y0  # wholly under the axes, so no label covers a line
    plt.close("all")


def test_precision_against_recall_zooms_to_its_points(tmp_path):
    import matplotlib.pyplot as plt

    from lab.views.report_plots import _zoomed, plot_precision_recall

    def axes(recall_last, floor):
        root = tmp_path / f"{recall_last}-{floor}"
        for seed in range(2):
            # Seeds apart, so that the axis follows the mean over seeds (0.76 here), not the lowest seed (0.70).
            manifold = {0: {"metrics/precision": 0.96, "metrics/recall": 0.93}, 1: {"metrics/precision": 0.91, "metrics/recall": recall_last + 0.12 * seed}}
            fake_run(root, f"{seed}", "fully_synthetic", 0.0, seed, [10, 11], extra=lambda g, m=manifold: m[g])
        ax = plot_precision_recall(load_runs([root]), floor=floor)
        limits = ax.get_xlim(), ax.get_ylim()
        plt.close("all")
        return limits

    # Points between 0.76 and 0.97 spread over an axis from 0.7, not one corner of the unit square; a precision of
    # 0.91 sits too near the tick at 0.9 to start there (the marker would sit on the axis): from 0.8.
    (x0, x1), (y0, y1) = axes(0.70, (0.97, 0.96))
    assert (x0, y0) == pytest.approx((0.7, 0.8)) and x1 == y1 == pytest.approx(1.02)
    # The real floor is a point of the figure too: a floor recall of 0.65 moves the axis to 0.6.
    assert axes(0.70, (0.97, 0.65))[0][0] == pytest.approx(0.6)
    # A recall that fell to 0.11 on average (strong guidance) starts the axis at 0; no floor, the points alone.
    assert axes(0.05, None)[0][0] == 0.0
    # The rule itself: a quarter step of room, exact at the ticks, a top above 1 when a value is, and no value at all.
    assert _zoomed([0.925]) == (0.9, 1.02) and _zoomed([0.825]) == (0.8, 1.02) and _zoomed([0.9249]) == pytest.approx((0.8, 1.02))
    assert _zoomed([0.5, 1.3])[1] == pytest.approx(1.325)
    assert _zoomed([float("nan"), None]) == (0.0, 1.02)


def test_compute_cost_per_condition_from_timing_files(tmp_path):
    from lab.views.report_cost import compute_cost, cost_text

    def timed(run, rows, tail=""):
        (run / "timing.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + tail)

    for seed in range(2):
        plain = fake_run(tmp_path, f"plain{seed}", "fully_synthetic", 0.0, seed, [10, 11])
        timed(plain, [{"generation": g, "timing/train_seconds": 10.0 + seed, "timing/sample_seconds": 2.0, "timing/train_bf16": 1.0} for g in range(2)])
        merged = fake_run(tmp_path, f"neon{seed}", "fully_synthetic", 0.0, seed, [10, 11])
        OmegaConf.save(OmegaConf.create(["loop=fully_synthetic", f"seed={seed}", "merge=neon"]), merged / "overrides.yaml")
        rows = [{"generation": g, "timing/train_seconds": 10.0, "timing/sample_seconds": 2.0, "timing/merge_seconds": 3.0} for g in range(2)]
        # Generation 1 redone after a kill: its second row counts, once; a cut last line is skipped.
        timed(merged, [*rows, rows[1] | {"timing/merge_seconds": 6.0}], tail='{"generation": 2, "timing/tr')
    cost = compute_cost(load_runs([tmp_path])).set_index("condition")
    (neon,), (plain,) = ([cost.loc[c] for c in cost.index if ("merge=neon" in c) == merged] for merged in (True, False))
    assert neon["runs timed"] == 2 and neon["generations timed"] == 4 and plain["generations timed"] == 4
    assert neon["merge (s)"] == pytest.approx(4.5) and neon["total (s)"] == pytest.approx(16.5)
    assert neon["× train + sample"] == pytest.approx(16.5 / 12)  # the table's own columns: total ÷ (train + sample)
    assert list(cost.columns[2:]) == ["train (s)", "sample (s)", "merge (s)", "total (s)", "× train + sample"]
    # The plain loop never merged: 0 s, its total train + sample (seeds' 10 and 11 s of training averaged).
    assert plain["merge (s)"] == 0 and plain["total (s)"] == pytest.approx(12.5) and plain["× train + sample"] == 1
    assert "bf16" not in " ".join(cost.columns)
    # The report writes it beside the other tables, and --export hands it to a results page as it is.
    from lab.views.report_export import export

    page = write_report([tmp_path / f"{name}{seed}" for name in ("plain", "neon") for seed in range(2)], tmp_path / "report")[0]
    assert "compute, mean seconds per generation" in page.read_text() and "<td>1.38</td>" in page.read_text()
    assert pd.read_csv(tmp_path / "report" / "cost.csv").equals(cost.reset_index())
    text = export(tmp_path / "report", tmp_path / "page" / "x")
    assert "| loop=fully_synthetic, merge=neon | 2 | 4 | 10 | 2 | 4.5 | 16.5 | 1.38 |" in text
    assert pd.read_csv(tmp_path / "page" / "x-cost.csv").equals(cost.reset_index())
    # Runs without timing files: no table, and no earlier report's cost.csv left to pass for this one's.
    for run in tmp_path.glob("*/timing.jsonl"):
        run.unlink()
    write_report([tmp_path / f"{name}{seed}" for name in ("plain", "neon") for seed in range(2)], tmp_path / "report")
    assert not (tmp_path / "report" / "cost.csv").exists() and "Compute" not in export(tmp_path / "report", tmp_path / "page" / "y")
    assert list(cost_text(pd.DataFrame({"s": [1234.5, 0.000655, float("nan")]})).s) == ["1234", "0.000655", ""]


def test_a_sample_strip_keeps_its_title_above_the_panels(tmp_path):
    from lab.views.report import _save
    from lab.views.report_plots import plot_strip

    grids = []
    for g in range(3):
        grids.append(tmp_path / f"gen_{g:03d}.png")
        Image.fromarray(np.full((40, 40), 255, dtype=np.uint8)).save(grids[-1])  # white panels: only text is dark
    picture = np.asarray(Image.open(_save(plot_strip("loop=fully_synthetic, seed 0", grids), tmp_path / "strip.png")).convert("L"))
    rows = np.flatnonzero((picture < 128).any(axis=1))  # rows holding text (the panels are white)
    title_rows, panel_title_rows = rows[rows < rows.min() + 15], rows[rows >= rows.min() + 15]
    assert len(title_rows) and len(panel_title_rows) and rows.min() > 0  # the suptitle is drawn whole, above "generation g"


def test_bands_keep_to_the_metric_range():
    # Two seeds far apart: the t-interval (t = 12.7) reaches below 0 for a coverage and for a distance; the band is
    # cut there, and at 1 for a coverage. Unbounded, it is the plain interval.
    mean, half = 0.16, 12.706205 * np.std([0.02, 0.3], ddof=1) / np.sqrt(2)
    assert band([0.02, 0.3], range_of("metrics/knn_coverage")) == pytest.approx((0.0, 1.0))
    assert band([0.02, 0.3], range_of("metrics/kid")) == pytest.approx((mean - half, mean + half))
    assert band([1.0, 9.0], range_of("metrics/fd_classifier")) == pytest.approx((0.0, 5.0 + 12.706205 * np.std([1.0, 9.0], ddof=1) / np.sqrt(2)))
    assert range_of("metrics/fd_classifier_minus_core") == (-np.inf, np.inf)
    assert range_of("metrics/class_entropy") == range_of("metrics/classes_present") == (0.0, 1.0)  # normalised
    assert range_of("metrics/feature_variance_ratio") == range_of("metrics/dark_level") == (0.0, np.inf)
    # A missing value is no seed (as in the mean beside the band); a mean a rounding below 0 stays inside its band.
    assert band([0.5, np.nan, 0.6], (0.0, 1.0)) == pytest.approx(band([0.5, 0.6], (0.0, 1.0)))
    assert np.isnan(band([0.5, np.nan])[0])
    low, high = band([-1e-6, -2e-6], (0.0, np.inf))
    assert low <= -1.5e-6 <= high


def test_the_mean_lies_inside_its_own_band():
    # A skewed metric over many seeds (most chains keep their coverage, a few lose most of it): the arithmetic mean,
    # which the table prints, lies inside the band (an interval computed on the logit scale, mapped back, missed it:
    # it brackets the logit mean, near the typical chain). The mean is 0.8524 here.
    values = np.r_[np.full(180, 0.9), np.full(20, 0.424)] + np.linspace(-0.01, 0.01, 200)
    table = pd.DataFrame({"condition": "c", "generation": 29, "seed": range(200), "metric": "metrics/knn_coverage", "value": values})
    row = summarise(table, "metrics/knn_coverage").iloc[0]
    assert row["low"] < row["mean"] < row["high"] < 1
    assert row["mean"] == pytest.approx(0.8524) and row["high"] - row["low"] == pytest.approx(2 * 1.971957 * values.std(ddof=1) / np.sqrt(200))


def test_no_spread_over_seeds_is_not_a_test():
    # Two seeds of a discrete metric landing on the same paired difference: the sample variance is 0, so the t-test's
    # p = 0 and zero-width interval would be artefacts. No interval, no p-value, and the text says why.
    row = t_test([-0.02, -0.02])
    assert row["mean"] == pytest.approx(-0.02) and np.isnan(row["low"]) and np.isnan(row["p"])
    assert interval_text(row | {"p_adjusted": row["p"]}) == "-0.02 (the same in every seed: not a test)"
    assert interval_text(t_test([0.3])) == "+0.3 (1 seed)"
    spread = t_test([-0.02, -0.03])
    assert spread["low"] < -0.025 < spread["high"] and 0 < spread["p"] < 1


def test_report_files(sweep, tmp_path):
    out = tmp_path / "report"
    page = write_report([sweep], out)[0]
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
    # Paired by seed: 0.25 − 0.5 is 50 in every seed at generation 2. A spread of 0 estimates no variance: the
    # difference is shown, but it is not a test (no interval, no p-value, no star).
    row = pd.read_csv(out / "contrasts.csv").iloc[0]
    assert (row["metric"], row["mean"], row["adjustment"]) == ("fd_classifier", 50, "Holm")
    assert np.isnan(row["low"]) and np.isnan(row["high"]) and np.isnan(row["p"])
    assert "+50 (the same in every seed: not a test)" in text and "paired by seed" in text
    # No real_only condition and none named: the page says so instead of inventing a control.
    assert "No control" in text and not (out / "effects.csv").exists()


def test_effects_against_the_control_split_the_jump_from_the_drift(tmp_path):
    # Seeds' luck (0, 5, 10) is shared by both loops and cancels. fully_synthetic: +3.5, +4, +4.5 at generation 1 (the
    # jump), then +1, +2, +3 per generation in seeds 0, 1, 2 (the drift); real_only stays at its seed's level.
    for seed, (luck, jump, drift) in enumerate(((0.0, 3.5, 1.0), (5.0, 4.0, 2.0), (10.0, 4.5, 3.0))):
        start = 10 + luck + jump
        fake_run(tmp_path, f"fs{seed}", "fully_synthetic", 0.0, seed, [10 + luck, start, start + drift, start + 2 * drift])
        fake_run(tmp_path, f"ro{seed}", "real_only", 1.0, seed, [10 + luck] * 4)
    effect, verdict = against_control(load_runs([tmp_path]), ["metrics/fd_classifier"], "loop=real_only")
    by = effect.set_index("quantity")
    assert np.isnan(by.loc["generation 0", "p"])  # identical by construction: not a test
    # Jump: mean 4, sd 0.5 over 3 seeds: t = 4 / (0.5/√3) = 13.86 on 2 degrees of freedom, half-width 4.303 · 0.5/√3.
    jump = by.loc["jump 0→1"]
    assert (jump["mean"], jump["low"], jump["high"]) == pytest.approx((4.0, 4.0 - 1.242069, 4.0 + 1.242069), rel=1e-5)
    assert jump["p"] == pytest.approx(2 * stats.t.sf(4 / (0.5 / np.sqrt(3)), 2), rel=1e-6)
    # Drift over generations 1–3: slopes 1, 2, 3 → mean 2, half-width t(0.975, 2) · 1 / √3 = 2.484.
    drift = by.loc["drift per generation (≥ 1)"]
    assert (drift["mean"], drift["low"], drift["high"]) == pytest.approx((2.0, 2.0 - 2.484138, 2.0 + 2.484138), rel=1e-5)
    # Holm within the table (generations 1–3 and the drift; the jump repeats generation 1): exploratory, no verdict.
    tested = effect.quantity != "jump 0→1"
    assert effect.p[tested].notna().sum() == 4
    assert effect.p_adjusted[tested].tolist() == pytest.approx(list(adjust(effect.p[tested], "holm")), nan_ok=True)
    assert by.loc["jump 0→1", "p_adjusted"] == by.loc["generation 1", "p_adjusted"]
    row = verdict.iloc[0]
    assert row["first_departure"] == 1 and row["jump 0→1"] == "+4 [+2.76, +5.24]"  # no star outside the declared claims


def test_slopes_spread_over_seeds_give_an_interval(tmp_path):
    for seed, slope in enumerate((1.0, 2.0, 3.0)):
        fake_run(tmp_path, f"{seed}", "fresh", 0.5, seed, [10 + slope * g for g in range(4)])
        fake_run(tmp_path, f"c{seed}", "real_only", 1.0, seed, [10.0] * 4)
    effect, _ = against_control(load_runs([tmp_path]), ["metrics/fd_classifier"], "loop=real_only")
    drift = effect.set_index("quantity").loc["drift per generation (≥ 1)"]
    # Mean 2, sd 1 over 3 seeds: half-width t(0.975, 2)/√3 = 2.484; the interval holds 0.
    assert (drift["low"], drift["high"]) == pytest.approx((-0.484138, 4.484138), rel=1e-5)


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
    # Differences −1.5, −2, −2.5: mean −2, sd 0.5, half-width t(0.975, 2) · 0.5 / √3 = 1.242; one test, so Holm leaves p.
    assert (row["mean"], row["low"], row["high"]) == pytest.approx((-2.0, -3.242069, -0.757931), rel=1e-5)
    assert row["p_adjusted"] == row["p"] < 0.05
    # Unpaired, the seeds' luck (sd 10) keeps the two bands overlapping at that generation.
    bands = summarise(table, "metrics/fd_classifier").query("generation == 1").set_index("condition")
    assert bands.loc["loop=fully_synthetic", "low"] < bands.loc["loop=fresh", "high"]


def sized_run(root, name, loop, fraction, seed, fd_values, size):
    """fake_run with loop.train_size set, as a sweep over the training set's size writes it, and the real images
    each generation trains on (all of them in generation 0)."""
    real = round(fraction * size)
    run = fake_run(root, name, loop, fraction, seed, fd_values, extra=lambda g: {"provenance/real": real if g else size})
    cfg = OmegaConf.load(run / "config.yaml")
    cfg.loop.train_size = size
    OmegaConf.save(cfg, run / "config.yaml")
    OmegaConf.save(OmegaConf.create([f"loop={loop}", f"loop.train_size={size}", f"loop.real_fraction={fraction}", f"seed={seed}"]), run / "overrides.yaml")
    return run


def test_each_condition_meets_the_control_of_its_own_size(tmp_path):
    # A sweep of the training set's size runs the control at each size: each mixed condition is measured against the
    # real_only chain of its own size, paired by seed. Mixed lies 2, 3, 4 above its control at 1,000 and 1, 1.5, 2
    # above it at 2,000 (the controls themselves differ by 5, which a single control would have mixed in).
    for seed in range(3):
        sized_run(tmp_path, f"r1k{seed}", "real_only", 1.0, seed, [10.0, 10.0 + seed], 1000)
        sized_run(tmp_path, f"m1k{seed}", "mixed", 0.5, seed, [10.0, 12.0 + 2 * seed], 1000)
        sized_run(tmp_path, f"r2k{seed}", "real_only", 1.0, seed, [5.0, 5.0 + seed], 2000)
        sized_run(tmp_path, f"m2k{seed}", "mixed", 0.5, seed, [5.0, 6.0 + 1.5 * seed], 2000)
    table = load_runs([tmp_path])
    assert control_condition(table) is None  # two real_only conditions: no single control
    matched = matched_controls(table)
    sizes = ("loop.train_size=1000", "loop.train_size=2000")
    assert matched == {f"loop=mixed, {size}": f"loop=real_only, {size}" for size in sizes}
    effect, verdict = against_control(table, ["metrics/fd_classifier"], matched)
    at_1 = effect[effect.quantity == "generation 1"].set_index("condition")
    assert at_1.loc["loop=mixed, loop.train_size=1000", "mean"] == pytest.approx(3.0)
    assert at_1.loc["loop=mixed, loop.train_size=2000", "mean"] == pytest.approx(1.5)
    assert set(verdict.control) == set(matched.values())
    page = write_report([tmp_path], tmp_path / "report")[0].read_text()
    assert "against each condition&#x27;s control, the real_only condition of its own loop.train_size (column control)" in page
    written = pd.read_csv(tmp_path / "report" / "effects.csv").query("quantity == 'generation 1'").set_index("condition")
    assert written.loc["loop=mixed, loop.train_size=2000", "control"] == "loop=real_only, loop.train_size=2000"
    # A declared claim against the control (against: null) meets the control of its own size too.
    declared = parse_claims(
        [
            {
                "name": "bigger set drifts",
                "metric": "fd_classifier",
                "condition": {"loop": "mixed", "loop.train_size": 2000},
                "kind": "increase",
                "scale": "difference",
            }
        ],
        "test",
    )
    judged = judge_claims(table, declared, matched).iloc[0]
    assert judged.contrast == "loop=mixed, loop.train_size=2000 − loop=real_only, loop.train_size=2000" and judged.estimate == pytest.approx(1.5)
    # A claim on a control itself is against itself; one on a size whose control has not run names what is missing.
    with pytest.raises(LabError, match="are the same runs"):
        judge_claims(
            table,
            parse_claims([{"name": "c", "metric": "fd_classifier", "condition": {"loop": "real_only", "loop.train_size": 1000}, "kind": "increase"}], "t"),
            matched,
        )
    sized_run(tmp_path, "m3k0", "mixed", 0.5, 0, [1.0, 2.0], 3000)
    wider = load_runs([tmp_path])
    assert matched_controls(wider) == matched  # the size without a control is left out, the others keep theirs
    three = parse_claims([{"name": "c", "metric": "fd_classifier", "condition": {"loop": "mixed", "loop.train_size": 3000}, "kind": "increase"}], "t")
    with pytest.raises(LabError, match=r"no real_only condition has the loop.train_size of loop=mixed, loop.train_size=3000$"):
        judge_claims(wider, three, matched_controls(wider))


def test_controls_run_under_a_remedy_are_not_matched(tmp_path):
    # neon_cpu runs real_only at each merge.weight: a control run under the remedy is not "the control", so nothing is
    # matched and --control names one; a sweep of the control alone has nothing to measure against it.
    for seed in range(2):
        for weight in (0, 1):
            for loop in ("real_only", "fully_synthetic"):
                run = fake_run(tmp_path, f"{loop}{weight}_{seed}", loop, 1.0 if loop == "real_only" else 0.0, seed, [5.0, 6.0 + weight])
                OmegaConf.save(OmegaConf.create([f"loop={loop}", f"merge.weight={weight}", f"seed={seed}"]), run / "overrides.yaml")
    table = load_runs([tmp_path])
    assert len(unscheduled_controls(table)) == 2 and matched_controls(table) is None
    assert matched_controls(table[table.loop == "real_only"]) is None


def test_the_count_of_real_images_against_their_share(tmp_path):
    import matplotlib.pyplot as plt

    from lab.views.report_plots import plot_against_real_count, real_counts

    # 1,000 or 2,000 images at a real share of 0.25 or 0.5 keep 250, 500, 500 or 1,000 real images: the sweep
    # crosses the count with the share. FD at the last generation is 40 − count/50 + seed, whatever the share.
    for seed in range(3):
        for size in (1000, 2000):
            sized_run(tmp_path, f"r{size}_{seed}", "real_only", 1.0, seed, [5.0, 5.0 + seed], size)
            for share in (0.25, 0.5):
                sized_run(tmp_path, f"m{size}_{share}_{seed}", "mixed", share, seed, [5.0, 40 - share * size / 50 + seed], size)
    table = load_runs([tmp_path])
    counts = real_counts(table, "mixed")
    assert sorted(zip(counts.real, counts.real_fraction)) == [(250, 0.25), (500, 0.25), (500, 0.5), (1000, 0.5)]
    ax = plot_against_real_count(table, "metrics/fd_classifier", "mixed")
    lines = {line.get_label().split(" (n=")[0]: line.get_xydata().tolist() for line in ax.get_lines()}
    assert lines == {
        "real share 0.25": [[250, 36.0], [500, 31.0]],
        "real share 0.5": [[500, 31.0], [1000, 21.0]],
        "real_only (control)": [[1000, 6.0], [2000, 6.0]],
    }
    plt.close("all")
    # A count run at one share only: nothing crossed, no figure.
    assert real_counts(table[table.real_fraction != 0.25], "mixed").empty
    page = write_report([tmp_path], tmp_path / "report")[0]
    assert (page.parent / "plots" / "real_count_mixed.png").exists()
    # A partial sweep: one condition has reached generation 2, the others 1: every line is read at generation 1.
    sized_run(tmp_path, "m1000_0.25_3", "mixed", 0.25, 3, [5.0, 39.0, 99.0], 1000)
    ax = plot_against_real_count(load_runs([tmp_path]), "metrics/fd_classifier", "mixed")
    assert "at generation 1," in ax.get_title()
    assert [line.get_label() for line in ax.get_lines()][0] == "real share 0.25 (n=3–4)"
    assert ax.get_lines()[0].get_xydata().tolist()[0] == [250, 36.75]  # (35 + 36 + 37 + 39) / 4 at generation 1
    plt.close("all")


def test_contrasts_use_only_shared_seeds(tmp_path):
    fake_run(tmp_path, "a0", "fresh", 0.5, 0, [10.0, 11.0])
    fake_run(tmp_path, "a1", "fresh", 0.5, 1, [10.0, 13.0])
    fake_run(tmp_path, "b1", "mixed", 0.5, 1, [10.0, 20.0])
    fake_run(tmp_path, "c2", "real_only", 1.0, 2, [10.0, 10.0])
    paired = contrasts(load_runs([tmp_path]), ["metrics/fd_classifier"]).set_index("contrast")
    # fresh and mixed share seed 1 only; real_only shares no seed with either and is left out.
    assert paired.index.tolist() == ["loop=fresh − loop=mixed"]
    row = paired.loc["loop=fresh − loop=mixed"]
    assert (row["mean"], row["seeds"]) == (-7.0, 1) and np.isnan(row["p"])  # one seed: an estimate, not a test


def test_a_seed_given_twice_is_refused(sweep, tmp_path):
    # The same seed of the same condition again (e.g. a re-run sweep given beside the first): not a new replicate.
    again = tmp_path / "again"
    fake_run(again, "0", "mixed", 0.5, 0, [10.0, 20.0, 30.0])
    with pytest.raises(LabError, match=r"loop=mixed, real_fraction=0.5, seed=0 is in 2 runs .*one replicate"):
        write_report([sweep, again], tmp_path / "report")
    assert not (tmp_path / "report").exists()


def test_floors_come_from_reference_json(sweep):
    expected = {f"metrics/{k}" if not k.startswith("classes/") else k: v for k, v in FLOOR.items()}
    assert floors(load_runs([sweep])) == pytest.approx(expected)  # the mean over 6 runs of the same value


def test_class_shares_against_the_control(tmp_path):
    # Class 1 halves every generation in the fully synthetic loop (seed noise ±0.05) and stays at its share in the
    # control; class 0 stays put in both. At generation 3 seed 0 recognised no sample of class 1.
    for seed, noise in enumerate((-0.05, 0.0, 0.05)):
        fake_run(
            tmp_path,
            f"fs{seed}",
            "fully_synthetic",
            0.0,
            seed,
            [10, 20, 30, 40],
            extra=lambda g, e=noise, s=seed: {
                "classes/share_ratio_0": 1.0,
                "classes/share_ratio_1": 0.5**g + e * (g > 0),
                "class_histogram": [50, 0 if (g == 3 and s == 0) else 5],
            },
        )
        fake_run(
            tmp_path,
            f"ro{seed}",
            "real_only",
            1.0,
            seed,
            [10] * 4,
            extra=lambda g: {"classes/share_ratio_0": 1.0, "classes/share_ratio_1": 1.0, "class_histogram": [50, 5]},
        )
    found = class_effects(load_runs([tmp_path]), "loop=real_only").set_index("class")
    assert found.loc[1, "generation"] == 3 and found.loc[1, "mean"] == pytest.approx(0.125 - 1.0)
    assert found.loc[1, "p_adjusted"] < 0.05 and np.isnan(found.loc[0, "p"])  # class 0: identical to the control
    assert (found.loc[1, "vanished"], found.loc[1, "vanished_in_control"]) == ("1/3", "0/3")
    page = write_report([tmp_path], tmp_path / "report")[0]
    assert "classes against the control" in page.read_text() and (tmp_path / "report" / "plots" / "class_shares_0.png").exists()


def test_a_bad_control_or_metric_stops_before_anything_is_written(sweep, tmp_path):
    with pytest.raises(LabError, match=r"--control 'loop=fresh' is not a condition of these runs; they are: loop=mixed"):
        write_report([sweep], tmp_path / "r1", control="loop=fresh")
    with pytest.raises(LabError, match=r"--metrics recal: not logged by these runs; they log metrics/fd_classifier"):
        write_report([sweep], tmp_path / "r2", effect_metrics=["fd_classifier", "recal"])
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()
    # Named as logged or without the metrics/ prefix, against a control the user chooses.
    write_report([sweep], tmp_path / "r3", control="loop=mixed, real_fraction=0.5", effect_metrics=["fd_classifier"])
    effect = pd.read_csv(tmp_path / "r3" / "effects.csv")
    assert set(effect.metric) == {"fd_classifier"} and set(effect.control) == {"loop=mixed, real_fraction=0.5"}
    # Seeds differ by their luck only; 0.25 lies 20 above at generation 1 and 50 at 2 in every seed.
    assert effect.set_index("quantity").loc["generation 2", "mean"] == 50


@pytest.mark.slow  # the real command, in an interpreter of its own
def test_the_report_command_writes_the_page(sweep, tmp_path):
    result = subprocess.run([sys.executable, "-m", "lab.report", str(sweep), "--out", str(tmp_path / "r")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "r" / "report.html").is_file()


def test_cli_usage_errors(sweep, tmp_path, monkeypatch, capsys):
    from lab.views.report import main

    # Every usage mistake: one line naming where it looked, exit 2, nothing written (in this process: an interpreter
    # each would cost seconds of imports).
    here = tmp_path / "here"
    (here / "empty").mkdir(parents=True)
    monkeypatch.chdir(here)
    for args, says in (
        (["nope"], "error: nope is not a directory; give sweep or run directories"),
        (["empty"], "error: no run directories (with config.yaml and metrics.jsonl) under empty"),
        ([], "error: no sweep under multirun/ (looked for multirun/<date>/<time>): run one with python -m lab -m …, or name the directory"),
        ([str(sweep), "--looks", "5,3"], "error: --looks 5,3: allowed increasing seed counts ≥ 2, e.g. 5,10,20"),
    ):
        with pytest.raises(SystemExit) as stopped:
            main(args)
        assert (stopped.value.code, capsys.readouterr().err.strip()) == (2, says)
    assert [p.name for p in here.iterdir()] == ["empty"]


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.slow  # a real browser renders the page
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_page_in_headless_chromium(tmp_path):
    # A sweep as wide as the lab's: 40 metrics, a control, 2 seeds (bands that a plain t-interval would push below 0).
    def many(g):
        names = ("precision", "recall", "knn_coverage", "density", "kid")
        return {f"metrics/{m}": 0.5 + 0.1 * g for m in names} | {f"metrics/extra_metric_with_a_long_name_{i}": i + g for i in range(35)}

    for seed in range(2):
        for loop, fraction in (("fully_synthetic", 0.0), ("real_only", 1.0), ("mixed", 0.5)):
            fake_run(tmp_path / "sweep", f"{loop}{seed}", loop, fraction, seed, [10 + seed, 20, 30 + 3 * seed], extra=many)
    page = write_report([tmp_path / "sweep"], tmp_path / "report")[0]
    url = page.resolve().as_uri()
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, *profile, "--window-size=1400,1000", "--virtual-time-budget=10000", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    images = len(list((tmp_path / "report" / "plots").iterdir()))
    assert f'data-images-loaded="{images}"' in body and 'data-images-broken="0"' in body, body
    assert int(re.search(r'data-page-width="(\d+)"', body).group(1)) <= 1400  # no table runs off the right edge
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, *profile, "--window-size=1200,1600", f"--screenshot={shot}", url], capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.01  # not blank: text and plots are drawn


def test_extinction_counts_seeds_that_lost_a_class_beside_the_wright_fisher_prediction(tmp_path):
    from lab.labels import wright_fisher_extinction
    from lab.views.report_verdict import extinction

    root = tmp_path / "multirun"
    for seed in range(4):
        # Class 1: 3 copies at generation 0; by generation 2 seeds 0 and 1 lost its labels, seed 0 its samples too.
        copies = [3, 2, 0 if seed < 2 else 5]
        samples = [4, 2, 0 if seed == 0 else 3]
        fake_run(
            root,
            f"{seed}",
            "fully_synthetic",
            0.0,
            seed,
            [10, 11, 12],
            extra=lambda g, c=copies, s=samples: {
                "data/train_size": 100,
                "data/label_count_0": 100 - c[g],
                "data/label_count_1": c[g],
                "class_histogram": [50, s[g]],
            },
        )
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
        fake_run(
            root, f"{seed}", "fully_synthetic", 0.0, seed, [10, 11], extra=lambda g: {f"tails/coverage_decile_{j}": 0.9 - 0.1 * g * (j == 0) for j in range(10)}
        )
    out = tmp_path / "report"
    page = write_report([root], out)[0]
    assert (out / "plots" / "coverage_by_density_0.png").exists()
    assert "coverage by density, loop=fully_synthetic" in page.read_text()


def test_departures_from_the_control_are_paired_by_seed_and_name_the_first_generation(tmp_path):
    from lab.views.report_verdict import with_tail_gap

    root = tmp_path / "multirun"
    # Each seed's luck is shared by both loops: it cancels. The fully synthetic tail falls 0.1 per generation, give or
    # take 0.01 per seed (a spread, without which there is no test).
    for seed, luck, spread in ((0, 0.0, 0.0), (1, 0.03, 0.01), (2, -0.02, -0.01)):
        falling = [0.9, 0.8 + spread, 0.7 + 2 * spread]
        for loop, tail in (("fully_synthetic", falling), ("real_only", [0.9, 0.9, 0.9])):
            fake_run(
                root,
                f"{loop}_{seed}",
                loop,
                0.0 if loop == "fully_synthetic" else 1.0,
                seed,
                [10, 11, 12],
                extra=lambda g, t=tail, s=luck: {"metrics/knn_coverage_tail": t[g] + s, "metrics/knn_coverage_core": 0.95 + s},
            )
    table = with_tail_gap(load_runs([root]))
    metrics = ["metrics/knn_coverage_tail", "metrics/knn_coverage_core", "metrics/knn_coverage_tail_minus_core"]
    effect, verdict = against_control(table, metrics, "loop=real_only")
    found = verdict.set_index("metric")
    assert (found.control == "loop=real_only").all()
    assert found.loc["knn_coverage_tail", "first_departure"] == 1
    assert effect.set_index(["metric", "quantity"]).loc[("knn_coverage_tail", "generation 2"), "mean"] == pytest.approx(-0.2)
    assert found.loc["knn_coverage_core", "first_departure"] == "not shown"  # identical to the control in every seed
    # Jump −0.1 ± 0.01 over 3 seeds: half-width t(0.975, 2) · 0.01/√3 = 0.0248.
    assert found.loc["knn_coverage_tail_minus_core", "jump 0→1"] == "-0.1 [-0.125, -0.0752]"


def simulated_sweep(rng, seeds: int, generations: int, effect, noise: float) -> pd.DataFrame:
    """The tidy table of a sweep without training: each seed's luck (shared by both loops), a condition whose distance
    from the control is effect(g) at generation g ≥ 1, and independent retraining noise in every run and generation."""
    rows = []
    for seed in range(seeds):
        luck = rng.normal(0, 5)
        for loop in ("fully_synthetic", "real_only"):
            for g in range(generations + 1):
                shift = effect(g) if (loop == "fully_synthetic" and g > 0) else 0.0
                value = 10 + luck + shift + (rng.normal(0, noise) if g > 0 else 0.0)
                rows.append(
                    {
                        "run": f"{loop}{seed}",
                        "generation": g,
                        "metric": "metrics/fd_classifier",
                        "value": value,
                        "loop": loop,
                        "seed": seed,
                        "condition": f"loop={loop}",
                    }
                )
    return pd.DataFrame(rows)


def test_simulated_sweeps_cover_the_true_drift():
    rng = np.random.default_rng(0)
    drift, covered, sweeps = 0.5, 0, 200
    for _ in range(sweeps):
        table = simulated_sweep(rng, seeds=3, generations=5, effect=lambda g: 2.0 + drift * (g - 1), noise=0.4)
        effect, _ = against_control(table, ["metrics/fd_classifier"], "loop=real_only")
        row = effect.set_index("quantity").loc["drift per generation (≥ 1)"]
        covered += row["low"] <= drift <= row["high"]
    assert covered / sweeps >= 0.90  # nominal 95%: binomial SE over 200 sweeps ≈ 0.015


def test_holm_and_benjamini_hochberg_on_a_hand_made_table():
    p = [0.01, 0.04, 0.03, 0.005, np.nan]
    # Holm: sorted 0.005·4, 0.01·3, 0.03·2, 0.04·1 → 0.02, 0.03, 0.06, 0.04 → running maximum 0.02, 0.03, 0.06, 0.06.
    assert adjust(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02, np.nan], nan_ok=True)
    # BH: 0.005·4/1, 0.01·4/2, 0.03·4/3, 0.04·4/4 → 0.02, 0.02, 0.04, 0.04 (running minimum from the top).
    assert adjust(p, "bh") == pytest.approx([0.02, 0.04, 0.04, 0.02, np.nan], nan_ok=True)


def test_runs_from_two_classifiers_are_refused_or_split(tmp_path):
    root = tmp_path / "multirun"
    for seed in range(2):
        fake_run(root, f"a{seed}", "fully_synthetic", 0.0, seed, [10, 20], classifier="mnist5k-16px-aaaa.pt")
        fake_run(root, f"b{seed}", "fully_synthetic", 0.0, seed + 2, [10, 30], classifier="mnist5k-16px-bbbb.pt")
    with pytest.raises(LabError, match=r"differ in classifier \(mnist5k-16px-aaaa.pt: 2 runs; mnist5k-16px-bbbb.pt: 2 runs\)"):
        write_report([root], tmp_path / "report")
    assert not (tmp_path / "report").exists()
    pages = write_report([root], tmp_path / "report", split=True)
    assert [p.parent.name for p in pages] == ["group_0", "group_1"]
    assert len(pd.read_csv(pages[1].parent / "runs.csv").run.unique()) == 2


def test_the_control_is_the_real_only_chain_that_no_schedule_changes(tmp_path):
    """Healing chains run real_only after their scheduled self-consumption: only the unscheduled one is the control."""
    for seed in range(2):
        for name, schedule in (("heal", "[fully_synthetic@1-2]"), ("control", "[]")):
            run = fake_run(tmp_path, f"{name}{seed}", "real_only", 1.0, seed, [10.0, 12.0 + seed, 11.0])
            OmegaConf.save(OmegaConf.load(run / "overrides.yaml") + [f"loop.schedule={schedule}"], run / "overrides.yaml")
    table = load_runs([tmp_path])
    assert sorted(table.condition.unique()) == ["loop=real_only, loop.schedule=[]", "loop=real_only, loop.schedule=[fully_synthetic@1-2]"]
    assert control_condition(table) == "loop=real_only, loop.schedule=[]"
    # A schedule set by a preset (in config.yaml, not on the command line) still names the condition.
    for seed in range(2):
        for name, schedule in (("heal", ["fully_synthetic@1-2"]), ("control", [])):
            run = tmp_path / f"{name}{seed}"
            OmegaConf.save(OmegaConf.create(["loop=real_only", f"seed={seed}"]), run / "overrides.yaml")
            saved = {"seed": seed, "loop": {"name": "real_only", "real_fraction": 1.0, "schedule": schedule}}
            OmegaConf.save(OmegaConf.create(saved), run / "config.yaml")
    table = load_runs([tmp_path])
    assert control_condition(table) == "loop=real_only, loop.schedule=[]"


def test_a_cut_last_line_is_read_up_to_and_a_damaged_one_stops_the_report(sweep, tmp_path, capsys):
    metrics = sweep / "0" / "metrics.jsonl"
    whole = metrics.read_text()
    metrics.write_text(whole + '{"generation": 3, "metrics/fd_cl')  # a chain still writing, or killed mid-write
    write_report([sweep], tmp_path / "read")
    assert "ends in a cut line" in capsys.readouterr().err
    assert pd.read_csv(tmp_path / "read" / "runs.csv").query("run.str.endswith('/0')").generation.max() == 2
    lines = whole.splitlines()
    metrics.write_text("\n".join([lines[0], lines[1][:20], *lines[2:]]) + "\n")  # damage before the end
    with pytest.raises(LabError, match=r"metrics.jsonl line 2 is not a JSON row \(a damaged file\)"):
        write_report([sweep], tmp_path / "report")
    assert not (tmp_path / "report").exists()


def test_the_heatmap_keeps_apart_conditions_that_share_a_real_fraction():
    """A sweep that moves loop.train_size beside the real fraction: one row per condition, none pooled."""
    from lab.views.report_plots import plot_heatmap

    rows = [
        {
            "metric": "metrics/w2",
            "loop": "mixed",
            "real_fraction": share,
            "condition": f"loop=mixed, loop.train_size={size}, real_fraction={share}",
            "generation": g,
            "value": value + g,
        }
        for share, size, value in ((0.1, 100, 10.0), (0.1, 500, 20.0), (0.5, 100, 30.0))
        for g in range(2)
    ]
    ax = plot_heatmap(pd.DataFrame(rows), "metrics/w2", "mixed")
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "loop.train_size=100, real_fraction=0.1",
        "loop.train_size=500, real_fraction=0.1",
        "loop.train_size=100, real_fraction=0.5",
    ]
    assert ax.images[0].get_array().tolist() == [[10.0, 11.0], [20.0, 21.0], [30.0, 31.0]]
