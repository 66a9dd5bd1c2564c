"""A sweep launched again in its directory keeps the record of each earlier launch (Hydra's multirun.yaml)."""

from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from lab.config import CONF_DIR
from lab.sweep_records import KeepEarlierSweepRecords, keep_earlier_record


def test_earlier_records_are_numbered_in_launch_order_and_never_replaced(tmp_path):
    assert keep_earlier_record(tmp_path) is None  # a new sweep: nothing to keep
    for launch in ("first", "second", "third"):
        keep_earlier_record(tmp_path)
        (tmp_path / "multirun.yaml").write_text(launch)  # what Hydra then writes
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"multirun.1.yaml": "first", "multirun.2.yaml": "second", "multirun.yaml": "third"}
    (tmp_path / "multirun.1.yaml").unlink()  # a record removed by hand: the numbers still follow the launches
    assert keep_earlier_record(tmp_path).name == "multirun.3.yaml"
    assert (tmp_path / "multirun.2.yaml").read_text() == "second" and (tmp_path / "multirun.3.yaml").read_text() == "third"
    assert not (tmp_path / "multirun.yaml").exists()


def test_the_lab_config_registers_the_callback(tmp_path):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"hydra.sweep.dir={tmp_path}"], return_hydra_config=True)
    callbacks = [instantiate(c) for c in cfg.hydra.callbacks.values()]
    assert [type(c) for c in callbacks] == [KeepEarlierSweepRecords]
    (tmp_path / "multirun.yaml").write_text("earlier")
    callbacks[0].on_multirun_start(cfg)
    assert (tmp_path / "multirun.1.yaml").read_text() == "earlier"
