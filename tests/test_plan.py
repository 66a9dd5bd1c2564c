"""A sweep previewed with --cfg job: every job listed after the lab's checks, nothing written."""

import pytest

from tests.test_errors import lab_cli


def test_a_sweep_preview_lists_every_job_with_its_seed_and_condition(tmp_path, lab_here):
    result = lab_here(tmp_path, "-m", "loop=mixed,fresh", "loop.real_fraction=0.5", "seed=0,1", "--cfg", "job")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "every job: loop.real_fraction=0.5"
    assert [line.split(maxsplit=2) for line in lines[2:6]] == [
        ["0", "0", "loop=mixed"],
        ["1", "1", "loop=mixed"],
        ["2", "0", "loop=fresh"],
        ["3", "1", "loop=fresh"],
    ]
    assert lines[6].startswith("4 jobs (2 conditions × 2 seeds), into multirun/")
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_preview_stops_on_the_first_job_that_fails_the_checks(tmp_path, lab_here):
    result = lab_here(tmp_path, "-m", "loop=mixed", "loop.real_fraction=0.5,1.5", "--cfg", "job")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: loop.real_fraction=1.5 is out of range: allowed 0 ≤ value ≤ 1"
    assert list(tmp_path.iterdir()) == []


def test_one_runs_config_printed_only_after_the_checks(tmp_path, lab_here):
    bad = lab_here(tmp_path, "curate=none", "curate.threshold=0.5", "--cfg", "job")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: curate.threshold is not a setting of curate=none; its settings: name, max_draws"
    good = lab_here(tmp_path, "loop=mixed", "--cfg", "job", "--package", "loop")
    assert good.returncode == 0 and "name: mixed" in good.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_preview_names_the_claims_a_part_of_a_preset_cannot_reach(tmp_path, lab_here):
    result = lab_here(tmp_path, "-m", "experiment=toy_tails", "loop=fully_synthetic", "seed=0,1", "--cfg", "job")
    assert result.returncode == 0, result.stderr
    assert "3 declared claims (modes are lost;" in result.stdout
    assert "note: claim modes are lost is against the control, and no job runs loop=real_only without a schedule" in result.stdout


def test_help_lists_the_options_a_user_can_choose_not_the_schemas(tmp_path, lab_here):
    result = lab_here(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert "schema_" not in result.stdout
    assert "curate: diversity, none, self_correction, verifier" in result.stdout
    assert "--cfg job" in result.stdout


def test_a_grid_runs_each_chain_once_whatever_settings_its_loop_ignores():
    from lab.views.plan import repeats
    from tests.conftest import compose_cfg

    jobs = [
        ("loop=real_only", "loop.real_fraction=0.1"),  # 0: the control, under a share it ignores
        ("loop=real_only", "loop.real_fraction=0.5"),  # 1: the same chain as 0
        ("loop=mixed", "loop.real_fraction=0.1"),
        ("loop=mixed", "loop.real_fraction=0.5"),
        ("loop=real_only", "loop.real_fraction=0.5", "seed=1"),  # another seed: another chain
        ("loop=real_only",),  # plainest: the chain of 0 and 1 runs here
        ("loop=real_only", "loop.schedule=[fully_synthetic@1-2]"),  # a schedule that self-consumes: a chain of its own
        ("loop=real_only", "train.synthetic_weight=0.25"),  # 7: no sample to weigh, the chain of 5
        ("loop=mixed", "loop.real_fraction=0.5", "train.synthetic_weight=0.25"),  # samples weighed: a chain of its own
    ]
    assert repeats([compose_cfg(*job) for job in jobs]) == {0: 5, 1: 5, 7: 5}


@pytest.mark.slow  # a real multirun of toy chains
def test_a_ratio_sweep_with_its_control_runs_the_control_once(tmp_path, lab_here):
    toy = ("model=gaussian", "data=gaussian", "data.dim=1", "loop.generations=2", "loop.train_size=50", "loop.num_samples=50", "metrics.num_samples=50")
    sweep = (*toy, "tracking=disabled", "progress=false", "hydra.sweep.dir=sweep")
    preview = lab_here(tmp_path, "-m", *sweep, "loop=mixed,real_only", "loop.real_fraction=0.2,0.6", "--cfg", "job")
    assert "3     0  loop=real_only, loop.real_fraction=1.0   (the chain of job 2: not run again)" in preview.stdout, preview.stdout
    assert "4 jobs, 3 chains (3 conditions × 1 seed), into sweep/<job>" in preview.stdout
    result = lab_cli(tmp_path, "-m", *sweep, "loop=mixed,real_only", "loop.real_fraction=0.2,0.6")
    assert result.returncode == 0, result.stderr
    assert "job 3 asks for the chain job 2 runs" in result.stdout + result.stderr
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir() if p.is_dir()) == ["0", "1", "2"]


@pytest.mark.slow  # every preset's sweep previewed under its launcher
def test_a_preset_sweep_previews_under_the_launcher_its_comment_names(tmp_path, lab_here):
    result = lab_here(tmp_path, "-m", "experiment=ratio_sweep_cpu", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "--cfg", "job")
    assert result.returncode == 0, result.stderr
    assert "18 jobs, 14 chains (7 conditions × 2 seeds)" in result.stdout


def test_no_job_is_skipped_where_hydra_may_number_the_jobs_otherwise():
    from lab.__main__ import _repeated_jobs, job_overrides
    from tests.conftest import compose_cfg

    argv = ["-m", "loop=mixed,real_only", "loop.real_fraction=0.2,0.6"]
    configs = [compose_cfg(*job) for job in job_overrides(argv)]
    planned = _repeated_jobs(argv, configs)
    assert list(planned) == ["3"] and planned["3"][0] == 2  # real_only at 0.6 repeats real_only at 0.2
    # Sweeper settings on the command line change Hydra's job list: the lab then skips nothing.
    assert _repeated_jobs([*argv, "hydra.sweeper.params.seed=0,1"], configs) == {}


def test_a_claim_against_the_control_needs_the_control_of_its_own_size_where_the_sweep_runs_several():
    from omegaconf import OmegaConf

    from lab.views.plan import unreached_claims
    from tests.conftest import compose_cfg

    def sweep(*jobs):  # every job at seeds 0 and 1, as a sweep runs them
        configs = [compose_cfg(*job, f"seed={seed}") for job in jobs for seed in (0, 1)]
        condition = {"loop": "mixed", "loop.train_size": 2000}
        claim = {"name": "mixing lowers FD", "metric": "fd_classifier", "condition": condition, "against": None, "kind": "decrease"}
        OmegaConf.update(configs[0], "claims", [claim], force_add=True)
        return unreached_claims(configs)

    mixed = [("loop=mixed", f"loop.train_size={n}") for n in (1000, 2000)]
    control = [("loop=real_only", "loop.train_size=1000", "loop.real_fraction=0.25"), ("loop=real_only", "loop.train_size=1000")]
    assert sweep(*mixed, *control) == []  # one control (at two shares it ignores): every condition meets it
    wider = [*control, ("loop=real_only", "loop.train_size=3000")]
    missing = ["claim mixing lowers FD is against the control, and no job runs loop=real_only at its condition's loop.train_size=2000"]
    assert sweep(*mixed, *wider) == missing
    assert sweep(*mixed, *wider, ("loop=real_only", "loop.train_size=2000", "loop.real_fraction=0.5")) == []
    # A control asked for under a sample weight it ignores is the chain of weight 1: the report sees only that one.
    weighted = [(*job, f"train.synthetic_weight={w}") for job in wider for w in (1, 0.25)]
    assert sweep(*mixed, *weighted) == missing
    wide = [("loop=mixed", f"loop.train_size={n}", f"seed={seed}") for n in (1000, 2000) for seed in (0, 1)]
    configs = [compose_cfg(*job) for job in wide]
    OmegaConf.update(configs[0], "claims", [{"name": "n", "metric": "fd_classifier", "condition": {"loop": "mixed"}, "against": None}], force_add=True)
    assert unreached_claims(configs)[0] == "claim n: loop=mixed matches 2 conditions; name the setting that tells them apart"
    remedy = [("loop=real_only", "loop.train_size=1000", "train.lr=0.001"), ("loop=real_only", "loop.train_size=3000")]
    several = "claim mixing lowers FD is against the control, and the jobs run loop=real_only at several loop.train_size, train.lr"
    assert sweep(*mixed, *remedy) == [f"{several}: its report needs --control"]


def test_a_model_swept_whole_is_a_scale_the_report_matches_controls_on():
    from lab.conf import is_scale

    assert is_scale("model") and is_scale("model.channels") and is_scale("loop.train_size") and is_scale("data")
    assert not is_scale("train.lr") and not is_scale("merge.weight") and not is_scale("modelling")
