"""The package's progress bar honours TQDM_DISABLE, which tqdm.notebook would override."""

import pytest

from hyena_lab.progress import bars_disabled, progress_bar


@pytest.mark.parametrize(("value", "off"), [("1", True), ("true", True), ("", False), ("0", False)])
def test_tqdm_disable_switches_bars_off(monkeypatch, value, off):
    monkeypatch.setenv("TQDM_DISABLE", value)
    assert bars_disabled() is off
    bar = progress_bar(range(3))
    assert bar.disable is off  # (tqdm sets disable once a bar is closed: check before)
    assert list(bar) == [0, 1, 2]


def test_enabled_false_always_hides(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    bar = progress_bar(range(2), enabled=False)
    assert bar.disable
    bar.close()
