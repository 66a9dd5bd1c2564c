"""A sweep previewed with --cfg job: every job listed after the lab's checks, nothing written."""

from tests.test_errors import lab_cli


def test_a_sweep_preview_lists_every_job_with_its_seed_and_condition(tmp_path):
    result = lab_cli(tmp_path, "-m", "loop=mixed,fresh", "loop.real_fraction=0.5", "seed=0,1", "--cfg", "job")
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


def test_a_sweep_preview_stops_on_the_first_job_that_fails_the_checks(tmp_path):
    result = lab_cli(tmp_path, "-m", "loop=mixed", "loop.real_fraction=0.5,1.5", "--cfg", "job")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: loop.real_fraction=1.5 is out of range: allowed 0 ≤ value ≤ 1"
    assert list(tmp_path.iterdir()) == []


def test_one_runs_config_printed_only_after_the_checks(tmp_path):
    bad = lab_cli(tmp_path, "curate=none", "curate.threshold=0.5", "--cfg", "job")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: curate.threshold is not a setting of curate=none; its settings: name, max_draws"
    good = lab_cli(tmp_path, "loop=mixed", "--cfg", "job", "--package", "loop")
    assert good.returncode == 0 and "name: mixed" in good.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_preview_names_the_claims_a_part_of_a_preset_cannot_reach(tmp_path):
    result = lab_cli(tmp_path, "-m", "experiment=toy_tails", "loop=fully_synthetic", "seed=0,1", "--cfg", "job")
    assert result.returncode == 0, result.stderr
    assert "3 declared claims (modes are lost;" in result.stdout
    assert "note: claim modes are lost is against the control, and no job runs loop=real_only without a schedule" in result.stdout


def test_help_lists_the_options_a_user_can_choose_not_the_schemas(tmp_path):
    result = lab_cli(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert "schema_" not in result.stdout
    assert "curate: diversity, none, self_correction, verifier" in result.stdout
    assert "--cfg job" in result.stdout
