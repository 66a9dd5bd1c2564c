"""Declared claims: the schema's one-line checks, each kind's test against known answers, Holm over the family, the
power estimate against simulated power, the error rate under the null, and alpha spending over planned reads."""

import math

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from scipy import stats

from lab.claims import parse_claims
from lab.config import check_settings
from lab.errors import LabError
from lab.views.report import load_runs, write_report
from lab.views.report_claims import POWER_COLUMN, declared, judge_claims
from lab.views.report_export import export
from lab.views.report_power import look_level, power_difference, power_equivalence, seeds_for_power, spent
from tests.test_report import fake_run

CONTROL = "loop=real_only"


def claims(*items):
    return parse_claims(list(items), "test")


def claim(**fields):
    return {"name": "c", "metric": "fd_classifier", "condition": {"loop": "fully_synthetic"}, "kind": "increase"} | fields


def sweep(rng, seeds, generations, effect, noise, luck=5.0, metric="metrics/fd_classifier", base=10.0, multiply=False):
    """A tidy table without training: each seed's luck shared by both loops, the condition `effect(g)` away from the
    control at generation g ≥ 1 (added, or multiplied with `multiply`), independent noise in every run and generation."""
    rows = []
    for seed in range(seeds):
        shared = rng.normal(0, luck)
        for loop in ("fully_synthetic", "real_only"):
            for g in range(generations + 1):
                value = base + shared + (rng.normal(0, noise) if g else 0.0)
                if loop == "fully_synthetic" and g:
                    value = value * math.exp(effect(g)) if multiply else value + effect(g)
                row = {"run": f"{loop}{seed}", "generation": g, "metric": metric, "value": value, "loop": loop, "seed": seed}
                rows.append(row | {"condition": f"loop={loop}"})
    return pd.DataFrame(rows)


def exact(values_mean, values_sd, n=40):
    """n values with exactly this mean and SD: a pilot whose moments are known."""
    z = np.random.default_rng(0).normal(size=n)
    return values_mean + values_sd * (z - z.mean()) / z.std(ddof=1)


# The schema: typed, checked in one line, at most four.


def test_a_preset_declares_its_claims_and_bad_ones_stop_in_one_line(make_cfg):
    cfg = make_cfg("experiment=compare_regimes_cpu")
    assert 1 <= len(cfg.claims) <= 4
    check_settings(cfg)
    with pytest.raises(LabError, match=r"test\[0\] \(c\)\.margin=None is required for kind=equivalent: allowed > 0"):
        claims(claim(kind="equivalent"))
    with pytest.raises(LabError, match="declares 5 claims; allowed at most 4"):
        claims(*[claim(name=f"c{i}") for i in range(5)])
    with pytest.raises(LabError, match="the name c is given to two claims"):
        claims(claim(), claim())
    with pytest.raises(LabError, match=r"names both generation=2 and slope_from=2"):
        claims(claim(generation=2, slope_from=2))
    with pytest.raises(LabError, match=r"test: .*'up'"):  # a kind the schema does not know
        claims(claim(kind="up"))
    with pytest.raises(LabError, match="test: .*colour"):  # a key the schema does not know
        claims(claim(colour="red"))


def test_every_shipped_preset_that_compares_conditions_declares_claims(make_cfg):
    from lab.config import group_options

    for preset in group_options("experiment"):
        cfg = make_cfg(f"experiment={preset}")
        params = OmegaConf.select(cfg, "hydra.sweeper.params", default=None) or {}
        compares = any(key != "seed" for key in params)
        assert not compares or len(cfg.claims) >= 1, preset


# Each kind against a known answer.


def test_a_difference_claim_reads_the_paired_seeds_at_the_last_generation():
    # Luck cancels; the condition is +4, +5, +6 above the control at generation 3 in seeds 0, 1, 2.
    rows = []
    for seed, shift in enumerate((4.0, 5.0, 6.0)):
        for loop, add in (("fully_synthetic", shift), ("real_only", 0.0)):
            for g in range(4):
                value = 10.0 + 7 * seed + (add * g / 3)
                rows.append({"run": f"{loop}{seed}", "generation": g, "metric": "metrics/recall", "value": value, "loop": loop, "seed": seed})
    table = pd.DataFrame(rows).assign(condition=lambda t: "loop=" + t.loop)
    out = judge_claims(table, claims(claim(metric="recall")), CONTROL).iloc[0]
    # Mean 5, SD 1 over 3 seeds: half-width t(0.975, 2)/√3 = 2.484; p two-sided from t = 5√3.
    assert (out.estimate, out.low, out.high) == pytest.approx((5.0, 5 - 2.484138, 5 + 2.484138), rel=1e-5)
    assert out.p_raw == pytest.approx(2 * stats.t.sf(5 * math.sqrt(3), 2), rel=1e-6)
    assert out["where"] == "generation 3" and out.scale == "difference" and out.seeds == 3 and out.verdict == "shown"
    # The same numbers in the other direction: significant, but not what was claimed.
    assert judge_claims(table, claims(claim(metric="recall", kind="decrease")), CONTROL).iloc[0].verdict == "not shown (the opposite direction)"
    # Beyond a margin of 4: the mean 5 is above it, but t = (5 − 4)·√3 with 2 df is far from 5%.
    beyond = judge_claims(table, claims(claim(metric="recall", margin=4.0)), CONTROL).iloc[0]
    assert beyond.p_raw == pytest.approx(2 * stats.t.sf(math.sqrt(3), 2), rel=1e-6) and beyond.verdict == "not shown"


def test_fd_is_read_as_a_log_ratio_so_a_seed_that_is_worse_everywhere_costs_no_power():
    # The condition is 1.5× the control in every seed, but the seeds' levels differ tenfold: a difference is noisy,
    # the log-ratio is exact (the same in every seed: not a test; with a little noise, a tight test).
    rng = np.random.default_rng(3)
    table = sweep(rng, seeds=5, generations=3, effect=lambda g: math.log(1.5), noise=0.0, luck=0.0, multiply=True)
    table["value"] *= np.exp(table.seed.to_numpy() * 0.6)
    out = judge_claims(table, claims(claim()), CONTROL).iloc[0]
    assert out.scale == "log_ratio" and out.estimate == pytest.approx(math.log(1.5)) and out.verdict == "not a test"
    assert math.isnan(out[POWER_COLUMN])  # no spread to read a power from
    # The scale does not depend on how the metric is spelled.
    assert judge_claims(table, claims(claim(metric="metrics/fd_classifier")), CONTROL).iloc[0].scale == "log_ratio"
    noisy = sweep(np.random.default_rng(4), seeds=5, generations=3, effect=lambda g: math.log(1.5), noise=0.3, luck=3.0, multiply=True)
    ratio = judge_claims(noisy, claims(claim()), CONTROL).iloc[0]
    difference = judge_claims(noisy, claims(claim(scale="difference")), CONTROL).iloc[0]
    assert ratio.verdict == "shown" and ratio.p_raw < difference.p_raw


def test_equivalence_by_tost_and_levels_off_over_a_window_that_grows_with_the_chain():
    rng = np.random.default_rng(5)
    flat = sweep(rng, seeds=12, generations=9, effect=lambda g: 5.0, noise=0.2)  # a first step of 5, then nothing
    out = judge_claims(flat, claims(claim(name="flat", kind="levels_off", margin=0.2, scale="difference")), CONTROL).iloc[0]
    # T = 9: the window is generations max(2, ⌈9/2⌉) = 5 … 9; generation 1 is never in it.
    assert out["where"] == "slope over generations 5–9" and out.interval == "90%, unadjusted" and out.verdict == "equivalent within ±0.2"
    short = sweep(rng, seeds=12, generations=3, effect=lambda g: 5.0, noise=0.2)
    assert judge_claims(short, claims(claim(kind="levels_off", margin=0.2, scale="difference")), CONTROL).iloc[0]["where"] == "slope over generations 2–3"
    steady = sweep(rng, seeds=12, generations=9, effect=lambda g: 1.0 * g, noise=0.2)
    assert judge_claims(steady, claims(claim(kind="levels_off", margin=0.2, scale="difference")), CONTROL).iloc[0].verdict == "not shown"
    # Equivalence at the last generation: TOST's p is the larger one-sided p; the 90% interval lies inside ±margin.
    same = sweep(rng, seeds=12, generations=3, effect=lambda g: 0.0, noise=0.2)
    eq = judge_claims(same, claims(claim(kind="equivalent", margin=0.5, scale="difference")), CONTROL).iloc[0]
    assert eq.verdict == "equivalent within ±0.5" and -0.5 < eq.low < eq.high < 0.5


def test_an_ordering_claim_compares_two_metrics_effects_paired_by_seed():
    # The tail's coverage falls by 0.2 at generation 1, the core's by 0.05: the tail departs first.
    rng = np.random.default_rng(6)
    tail = sweep(rng, 8, 3, lambda g: -0.2, noise=0.02, luck=0.01, metric="metrics/knn_coverage_tail", base=0.9)
    core = sweep(rng, 8, 3, lambda g: -0.05, noise=0.02, luck=0.01, metric="metrics/knn_coverage_core", base=0.9)
    table = pd.concat([tail, core], ignore_index=True)
    item = claim(name="tail first", metric="knn_coverage_tail", versus_metric="knn_coverage_core", kind="decrease", generation=1)
    out = judge_claims(table, claims(item), CONTROL).iloc[0]
    assert out.metric == "knn_coverage_tail − knn_coverage_core" and out.estimate == pytest.approx(-0.15, abs=0.03)
    assert out.verdict == "shown" and out["where"] == "generation 1"


def test_holm_runs_over_the_declared_claims_only():
    rng = np.random.default_rng(7)
    table = sweep(rng, seeds=6, generations=3, effect=lambda g: 2.0 * g, noise=1.0)
    family = claims(claim(name="a"), claim(name="b", generation=1), claim(name="c", generation=0), claim(name="d", kind="levels_off", margin=0.1))
    out = judge_claims(table, family, CONTROL).set_index("claim")
    # Generation 0 is shared by construction: no spread, not a test, not counted.
    assert out.loc["c", "verdict"] == "not a test" and (out.family == 3).all()
    tested = out.p_raw.notna()
    order = out.p_raw[tested].sort_values()
    expected = np.maximum.accumulate(np.minimum(1, order.to_numpy() * np.arange(3, 0, -1)))
    assert out.loc[order.index, "p_adjusted"].to_numpy() == pytest.approx(expected)


# Power: the estimate against simulated power, and the error rate when nothing happens.


def simulated_power(n, mean, sd, level, sweeps=4000, rng=None):
    """Share of simulated two-sided paired t-tests at `level` that reject, with n seeds N(mean, sd²)."""
    rng = rng or np.random.default_rng(n)
    x = rng.normal(mean, sd, size=(sweeps, n))
    t = x.mean(1) / (x.std(1, ddof=1) / math.sqrt(n))
    return float((np.abs(t) > stats.t.ppf(1 - level / 2, n - 1)).mean())


def simulated_tost_power(n, sd, margin, level, sweeps=4000):
    x = np.random.default_rng(n).normal(0, sd, size=(sweeps, n))
    half = stats.t.ppf(1 - level, n - 1) * x.std(1, ddof=1) / math.sqrt(n)
    return float((np.abs(x.mean(1)) + half < margin).mean())


def crossing(power_at, start=2, stop=400):
    return next(n for n in range(start, stop) if power_at(n) >= 0.8)


def test_seeds_for_80_percent_power_match_simulated_power():
    level = 0.05 / 4  # a claim's Holm share in a family of four
    for mean, sd in ((1.0, 2.0), (3.0, 2.0)):
        estimate = seeds_for_power(exact(mean, sd), "increase", 0.0, level)
        simulated = crossing(lambda n, m=mean, s=sd: simulated_power(n, m, s, level))
        assert abs(estimate - simulated) <= 0.2 * simulated, (mean, sd, estimate, simulated)
        assert power_difference(int(estimate), mean / sd, level) >= 0.8 > power_difference(int(estimate) - 1, mean / sd, level)
    # Equivalence when the true difference is 0: TOST within ±0.8 with per-seed SD 1.
    estimate = seeds_for_power(exact(0.3, 1.0), "equivalent", 0.8, 0.05 / 2)
    simulated = crossing(lambda n: simulated_tost_power(n, 1.0, 0.8, 0.05 / 2), start=3)
    assert abs(estimate - simulated) <= 0.2 * simulated
    assert power_equivalence(int(estimate), 1.0, 0.8, 0.025) == pytest.approx(simulated_tost_power(int(estimate), 1.0, 0.8, 0.025), abs=0.03)
    # No effect in the stated direction: no seed count powers the claim.
    assert math.isinf(seeds_for_power(exact(-1.0, 1.0), "increase", 0.0, level))
    # A very large effect (where scipy's noncentral t loses its lower tail): 2 seeds give a t-test with 1 degree of
    # freedom, power far below 80% at 0.05/3; 3 seeds suffice.
    large = exact(5.94, 1.0)
    assert power_difference(2, 5.94, 0.05 / 3) == pytest.approx(simulated_power(2, 5.94, 1.0, 0.05 / 3, sweeps=40000), abs=0.01)
    assert seeds_for_power(large, "increase", 0.0, 0.05 / 3) == 3
    # Beyond a margin: the effect that counts is the mean less the margin.
    assert seeds_for_power(exact(3.0, 2.0), "increase", 2.0, level) == seeds_for_power(exact(1.0, 2.0), "increase", 0.0, level)
    # TOST's power far beyond the guess still integrates the χ² mass (n = 1,000, margin 1 SD: certain).
    assert power_equivalence(1000, 1.0, 1.0, 0.05) == pytest.approx(1.0)


def test_the_power_estimate_read_from_a_sweep_gives_about_80_percent_when_run_at_that_many_seeds():
    rng = np.random.default_rng(8)
    step = lambda g: 1.0  # noqa: E731 — a difference of 1 at every generation ≥ 1, per-seed SD √2 (two runs' noise of 1)
    family = claims(claim(scale="difference"))
    planned = judge_claims(sweep(rng, 300, 2, step, noise=1.0), family, CONTROL).iloc[0][POWER_COLUMN]
    shown = np.mean([judge_claims(sweep(rng, int(planned), 2, step, noise=1.0), family, CONTROL).iloc[0].verdict == "shown" for _ in range(150)])
    assert 0.68 <= shown <= 0.92, (planned, shown)  # 80% ± 3 binomial SE over 150 sweeps


@pytest.mark.slow  # a simulation of 400 sweeps
def test_no_effect_is_called_shown_in_about_5_percent_of_sweeps_at_most():
    # Four declared claims and no effect anywhere: without Holm about 1 − 0.975⁴ ≈ 9.6% of sweeps would show one
    # (each two-sided test errs in the stated direction 2.5% of the time); with Holm at most 5%.
    rng = np.random.default_rng(9)
    names = ("fd_a", "fd_b", "fd_c", "fd_d")
    family = claims(*[claim(name=m, metric=m, kind=("increase", "decrease")[i % 2], scale="difference") for i, m in enumerate(names)])
    calls = []
    for _ in range(200):
        table = pd.concat([sweep(rng, 6, 1, lambda g: 0.0, noise=1.0, metric=f"metrics/{m}") for m in names], ignore_index=True)
        calls.append((judge_claims(table, family, CONTROL).verdict == "shown").any())
    assert np.mean(calls) <= 0.05
    # Equivalence when the truth sits on the margin (TOST's null): called equivalent in ≤ 5% of sweeps.
    eq = claims(claim(kind="equivalent", margin=1.0, scale="difference"))
    wrong = [judge_claims(sweep(rng, 10, 1, lambda g: 1.0, noise=1.0), eq, CONTROL).iloc[0].verdict != "not shown" for _ in range(200)]
    assert np.mean(wrong) <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / 200)


def test_alpha_spending_matches_the_published_obrien_fleming_type_boundaries():
    # Lan & DeMets (1983), O'Brien–Fleming-type spending at α = 0.05 two-sided: cumulative α 0.0056 at half the
    # information, 0.0000 (8.9e-5) at a quarter; the reads' shares add up to α.
    assert spent(0.05, 0.5) == pytest.approx(0.0056, abs=5e-5) and spent(0.05, 0.25) == pytest.approx(8.9e-5, rel=0.01)
    levels = [look_level(0.05, [5, 10, 20], n) for n in (5, 10, 20)]
    assert levels == pytest.approx([8.9e-5, 0.0056 - 8.9e-5, 0.05 - 0.0056], abs=5e-5)


# The report: claims first, claims.csv, one line for a claim the sweep cannot answer.


def claimed_sweep(root, claims_yaml=None):
    for seed, (luck, jump) in enumerate(((0.0, 3.5), (5.0, 4.0), (10.0, 4.5))):
        for name, loop, values in (("fs", "fully_synthetic", [10 + luck, 10 + luck + jump]), ("ro", "real_only", [10 + luck] * 2)):
            run = fake_run(root, f"{name}{seed}", loop, 0.0, seed, values)
            if claims_yaml is not None:
                config = OmegaConf.load(run / "config.yaml")
                config.claims = claims_yaml
                OmegaConf.save(config, run / "config.yaml")
    return root


def test_the_report_tests_the_runs_declared_claims_first_and_writes_claims_csv(tmp_path):
    root = claimed_sweep(tmp_path / "sweep", [claim(name="fd rises")])
    page = write_report([root], tmp_path / "report")[0]
    table = pd.read_csv(tmp_path / "report" / "claims.csv")
    assert {"claim", "verdict", "estimate", "low", "high", "p_raw", "p_adjusted", "seeds", POWER_COLUMN} <= set(table.columns)
    row = table.iloc[0]
    assert row.claim == "fd rises" and row.seeds == 3 and row.family == 1 and row.scale == "log_ratio"
    text = page.read_text()
    assert text.index("Declared claims") < text.index("Exploratory — not a verdict")
    assert "1 test with Holm" in text and "bound method" not in text
    claims_table = text[text.index("<table") : text.index("</table>")]
    assert "<td>generation 1</td>" in claims_table and "×" in claims_table  # where it was read; the log-ratio as a ratio
    # For a results page: the claims as they are, and every run's numbers with no machine path in them.
    table = export(tmp_path / "report", tmp_path / "page" / "2026-12-03-x")
    assert table.startswith("Claims declared by the runs' preset\n\n| claim | verdict |") and "fd rises" in table
    assert pd.read_csv(tmp_path / "page" / "2026-12-03-x-claims.csv").equals(pd.read_csv(tmp_path / "report" / "claims.csv"))
    runs = pd.read_csv(tmp_path / "page" / "2026-12-03-x-runs.csv.gz")
    assert len(runs) == 12 and set(runs.run) == {"fs0", "fs1", "fs2", "ro0", "ro1", "ro2"} and "metrics/fd_classifier" in runs


def test_claims_from_a_file_and_claims_the_sweep_cannot_answer(tmp_path):
    root = claimed_sweep(tmp_path / "sweep")
    file = tmp_path / "claims.yaml"
    file.write_text(OmegaConf.to_yaml({"claims": [claim(metric="recal")]}))
    with pytest.raises(LabError, match=r"claim c: recal is not logged by these runs; they log classes_present, fd_classifier"):
        write_report([root], tmp_path / "r1", claims_file=file)
    file.write_text(OmegaConf.to_yaml({"claims": [claim(condition={"loop": "fresh"})]}))
    with pytest.raises(LabError, match=r"claim c: no run has loop=fresh; the conditions are: loop=fully_synthetic; loop=real_only"):
        write_report([root], tmp_path / "r2", claims_file=file)
    file.write_text(OmegaConf.to_yaml({"claims": [claim()]}))
    with pytest.raises(LabError, match=r"looks 2,5: these runs hold 3 seeds"):
        write_report([root], tmp_path / "r3", claims_file=file, looks=[2, 5])
    assert not any((tmp_path / f"r{i}").exists() for i in (1, 2, 3))
    write_report([root], tmp_path / "r4", claims_file=file, looks=[3, 6])
    row = pd.read_csv(tmp_path / "r4" / "claims.csv").iloc[0]
    assert row.level == pytest.approx(look_level(0.05, [3, 6], 3))


def test_load_runs_adds_the_settings_claims_pick_conditions_by(tmp_path):
    root = claimed_sweep(tmp_path / "sweep")
    table = load_runs([root], {"loop.real_fraction"})
    assert set(table["loop.real_fraction"].astype(str)) == {"0.0"}


def test_a_seed_without_a_pair_is_named_and_a_log_of_a_value_at_or_below_zero_stops():
    rng = np.random.default_rng(10)
    table = sweep(rng, 6, 3, lambda g: 1.0, noise=0.5)
    short = table[~((table.run == "fully_synthetic3") & (table.generation == 3))]  # seed 3's chain stopped at generation 2
    out = judge_claims(short, claims(claim(scale="difference")), CONTROL).iloc[0]
    assert out.seeds == 5 and out.seeds_dropped == "seed 3: no pair at generation 3"
    negative = table.assign(metric="metrics/kid_mean", value=table.value - 12)  # KID's unbiased estimate can be < 0
    assert judge_claims(negative, claims(claim(metric="kid_mean")), CONTROL).iloc[0].scale == "difference"
    with pytest.raises(LabError, match=r"claim c: kid_mean is -?[0-9.e+-]+ in loop=\w+, seed \d, generation \d: a log-ratio needs values > 0"):
        judge_claims(negative, claims(claim(metric="kid_mean", scale="log_ratio")), CONTROL)


def test_claims_named_after_the_runs_are_refused_unless_called_post_hoc(tmp_path):
    root = claimed_sweep(tmp_path / "sweep", [claim(name="fd rises")])
    file = tmp_path / "other.yaml"
    file.write_text(OmegaConf.to_yaml({"claims": [claim(name="something else", kind="decrease")]}))
    with pytest.raises(LabError, match="these runs declared their claims .* add --post-hoc"):
        write_report([root], tmp_path / "r1", claims_file=file)
    page = write_report([root], tmp_path / "r2", claims_file=file, post_hoc=True)[0]
    assert "POST HOC" in page.read_text()
    assert pd.read_csv(tmp_path / "r2" / "claims.csv").post_hoc.all()  # the label travels with the CSV and its export
    assert "POST HOC" in export(tmp_path / "r2", tmp_path / "page" / "x")
    # A run that predates the claims (a pilot) is not folded into the confirmatory family.
    fake_run(root, "pilot", "fully_synthetic", 0.0, 7, [10.0, 12.0])
    with pytest.raises(LabError, match="1 of 7 runs declare no claims"):
        declared(sorted(p for p in root.iterdir()))
    # A report without claims removes an earlier report's claims.csv from the folder it writes.
    (tmp_path / "r3").mkdir()
    (tmp_path / "r3" / "claims.csv").write_text("stale")
    write_report([claimed_sweep(tmp_path / "plain")], tmp_path / "r3")
    assert not (tmp_path / "r3" / "claims.csv").exists()


def test_a_planned_read_waits_for_every_condition_to_reach_the_planned_seeds(tmp_path):
    root = claimed_sweep(tmp_path / "sweep", [claim(name="fd rises")])
    for seed in (3, 4, 5):  # the condition has 6 seeds, the control still 3
        run = fake_run(root, f"fs{seed}", "fully_synthetic", 0.0, seed, [10.0, 14.0])
        config = OmegaConf.load(run / "config.yaml")
        config.claims = [claim(name="fd rises")]
        OmegaConf.save(config, run / "config.yaml")
    with pytest.raises(LabError, match=r"looks 3,6: the claims' conditions hold different numbers of seeds finished to generation 1"):
        write_report([root], tmp_path / "r", looks=[3, 6])
