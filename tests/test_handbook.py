"""The handbook runner: executes notebooks in place, records run times, chapter 00 last."""

import json

import nbformat
import pytest

from hyena_lab import handbook


def _notebook(path, source):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "py"}
    nbformat.write(nb, path)
    return path


def test_runner_executes_in_place_and_records_times(tmp_path, monkeypatch):
    monkeypatch.setenv("HYENA_LAB_FIGURES", str(tmp_path / "out"))
    monkeypatch.setenv("HYENA_LAB_RECORDS", str(tmp_path / "none"))
    order = tmp_path / "order.txt"
    a = _notebook(tmp_path / "00_start.ipynb", f"open({str(order)!r}, 'a').write('0')\n6 * 7")
    b = _notebook(tmp_path / "01_x.ipynb", f"open({str(order)!r}, 'a').write('1')")
    assert handbook.main([str(a), str(b)]) == 0
    assert order.read_text() == "10"  # chapter 00 (which reads the times) runs last
    (cell,) = nbformat.read(a, as_version=4).cells
    assert cell.outputs[0]["data"]["text/plain"] == "42" and cell.execution_count == 1
    record = json.loads((tmp_path / "out" / "data" / f"{handbook.TIMES_RECORD}.json").read_text())
    assert set(record["chapters"]) == {"00_start", "01_x"}
    assert all(t > 0 for t in record["chapters"].values()) and record["run"]["cpu"]


def test_runner_stops_on_a_failing_chapter_and_keeps_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HYENA_LAB_FIGURES", str(tmp_path / "out"))
    bad = _notebook(tmp_path / "01_bad.ipynb", "1 / 0")
    before = bad.read_bytes()
    assert handbook.main([str(bad)]) == 1
    assert "01_bad.ipynb failed: CellExecutionError" in capsys.readouterr().err
    assert bad.read_bytes() == before  # nothing half-written


def test_runner_refuses_what_is_not_a_notebook(tmp_path):
    with pytest.raises(SystemExit) as exc:
        handbook.main([str(tmp_path / "missing.ipynb")])
    assert exc.value.code == 2


class _MissedWakeUpChannel:
    """A channel whose waits are never woken: the reply arrives during poll ``arrives_during``
    (counted, no clock), and only a poll that *starts* after it sees it (nbclient #312)."""

    def __init__(self, arrives_during):
        self.arrives_during, self.polls = arrives_during, []

    async def get_msg(self, timeout=None):
        import asyncio
        import queue

        self.polls.append(timeout)
        if len(self.polls) > self.arrives_during:  # it arrived during an earlier poll
            return {"msg_type": "execute_reply"}
        await asyncio.sleep(timeout)  # the reply arrives meanwhile: this poll misses it
        raise queue.Empty


def test_waits_in_slices_pick_up_a_reply_a_long_poll_would_miss():
    import asyncio
    import queue

    channel = _MissedWakeUpChannel(arrives_during=1)
    handbook._wait_in_slices(channel, slice_s=0.02)
    msg = asyncio.run(channel.get_msg(timeout=60))  # one 60 s poll would wait 60 s, then fail
    assert msg["msg_type"] == "execute_reply"
    assert len(channel.polls) == 2 and max(channel.polls) <= 0.02
    late = _MissedWakeUpChannel(arrives_during=10**9)  # no reply: the overall timeout holds
    handbook._wait_in_slices(late, slice_s=0.02)
    with pytest.raises(queue.Empty):
        asyncio.run(late.get_msg(timeout=0.07))
    assert max(late.polls) <= 0.02  # it waited in slices, and gave up at the deadline
