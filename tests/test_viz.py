"""The shared figure helpers: savefig and save_data write where and what they promise."""

import json

import matplotlib.pyplot as plt
import pytest
import torch

from hyena_lab.measure import environment
from hyena_lab.viz import cpu_record, matrix_heatmap, run_info, save_data, savefig


@pytest.fixture
def figdir(tmp_path, monkeypatch):
    monkeypatch.setenv("HYENA_LAB_FIGURES", str(tmp_path))
    return tmp_path


def test_savefig_writes_reproducible_png(figdir):
    fig, ax = plt.subplots()
    matrix_heatmap(ax, torch.tril(torch.ones(4, 4)), "S_h")
    (path,) = savefig(fig, "00_test-heatmap")
    first = path.read_bytes()
    savefig(fig, "00_test-heatmap")
    assert path == figdir / "00_test-heatmap.png" and path.read_bytes() == first
    assert ax.get_xlabel() and ax.get_ylabel()
    plt.close(fig)


def test_save_data_adds_run_info(figdir):
    path = save_data({"x": [1, 2]}, "00_test-data")
    rec = json.loads(path.read_text())
    assert rec["x"] == [1, 2] and rec["run"]["torch"] == torch.__version__
    assert rec["schema"] == {"name": "00_test-data", "version": 1}  # measure.save_record's
    assert {"device", "cpu", "date", "num_threads", "git_commit"} <= set(environment())
    assert run_info is environment  # the old name
    kept = json.loads(save_data({"run": {"device": "H100"}}, "00_test-gpu", schema="s").read_text())
    assert kept["run"] == {"device": "H100"} and kept["schema"]["name"] == "s"


@pytest.mark.parametrize("name", ["../evil", "a b", ""])
def test_bad_names_are_refused(figdir, name):
    fig = plt.figure()
    with pytest.raises(ValueError, match="letters, digits"):
        savefig(fig, name)
    with pytest.raises(ValueError, match="letters, digits"):
        save_data({}, name)
    plt.close(fig)


def test_bad_format_is_refused(figdir):
    fig = plt.figure()
    with pytest.raises(ValueError, match="format must be"):
        savefig(fig, "00_test-x", formats=("jpg",))
    plt.close(fig)


def test_cpu_record_names_the_context_of_a_cpu_measurement():
    rec = cpu_record(3)
    assert rec["device"] == "cpu" and rec["num_threads"] == 3
    assert rec["torch_version"] == torch.__version__ and len(rec["date"]) == 10
    assert rec["processor"] and rec["machine"]


def test_figures_go_to_a_cache_unless_told(tmp_path, monkeypatch):
    from hyena_lab.viz import figures_dir

    monkeypatch.delenv("HYENA_LAB_FIGURES", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert figures_dir() == tmp_path / "cache" / "hyena-lab" / "figures"
    assert not (tmp_path / "cache").exists()  # asking creates nothing


def test_records_are_read_from_the_repository_not_the_output(tmp_path, monkeypatch):
    from hyena_lab.viz import load_data, records_dir

    monkeypatch.setenv("HYENA_LAB_FIGURES", str(tmp_path))
    monkeypatch.delenv("HYENA_LAB_RECORDS", raising=False)
    save_data({"x": 1}, "01_long_convolutions-cpu_timing")  # a live re-measurement ...
    assert records_dir().parent.name == "figures" and records_dir() != tmp_path / "data"
    assert load_data("01_long_convolutions-cpu_timing") != {"x": 1}  # ... never shadows the record
    with pytest.raises(FileNotFoundError, match="make handbook"):
        load_data("00_no_such_record")


def test_write_atomic_leaves_no_temporary_file(tmp_path):
    from hyena_lab.viz import write_atomic

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / ".b.json.x1y2.tmp").write_text("half")  # a write killed by SIGKILL
    path = write_atomic(tmp_path / "a" / "b.json", "{}\n")
    assert path.read_text() == "{}\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["b.json"]
