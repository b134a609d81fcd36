"""The filter-decay explorer (``hyena_lab.explorer``): its precomputed numbers are the package's,
its grid is what the sliders step through, the page is small and deterministic, and its command
line (``build``, ``serve``) refuses bad arguments and a port in use with clear errors.

The browser side (sliders redraw, no console error, no network) is
``tests/browser/test_explorer.py``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
import torch

from hyena_lab import explorer
from hyena_lab.checks import F32_FFT_CHAIN, rel_err
from hyena_lab.experiments.examples import make_input
from hyena_lab.explorer import ROUNDING_REL, BuildConfig, ServeConfig
from hyena_lab.filters import seeded
from hyena_lab.operator import HyenaOperator

ROOT = Path(__file__).resolve().parents[1]
#: Fetches from 127.0.0.1 directly, whatever proxy the environment names.
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))
#: A small grid (16 points) for the tests that only need some page, not the default one.
SMALL = {"fast_decay_pct": (0.1, 0.3), "slow_decay_pct": (1.0, 1.5), "w": (1.0, 10.0),
         "bands": (1, 4)}  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict, dict]:
    """The default page, built once: (index.html, build's summary, the embedded data)."""
    out = tmp_path_factory.mktemp("explorer")
    summary = explorer.build(BuildConfig(out_dir=str(out)))
    return Path(summary["out"]), summary, explorer.read_page_data(summary["out"])


def _reference(fast: float, slow: float, w: float, bands: int, dtype=torch.float64):
    """The operator and numbers of one grid point, built here from the package's classes (not
    through the explorer): chapter 02's recipe with chapter 03's filter options."""
    args = {"emb_dim": 2 * bands + 1, "w": w, "fast_decay_pct": fast, "slow_decay_pct": slow}
    with seeded(0):
        op = HyenaOperator(4, 64, order=2, filter_args=args)
    op = op.to(dtype)
    u = make_input("random", 64, 4, seed=1).to(dtype)
    with torch.no_grad():
        return op.filters(64), op.materialize(u)[0]  # (2, 4, 64), (64, 64)


def _frame(data: dict, values: tuple) -> dict:
    """The frame of one slider position, indexed as the page's JavaScript does (mixed radix,
    the last slider fastest)."""
    k = 0
    for slider, v in zip(data["sliders"], values, strict=True):
        k = k * len(slider["values"]) + slider["values"].index(v)
    return data["frames"][k]


def _dense(A: dict, L: int) -> torch.Tensor:
    """The stored lower triangle back as an ``(L, L)`` matrix."""
    t, s = torch.tril_indices(L, L)
    out = torch.zeros(L, L, dtype=torch.float64)
    out[t, s] = torch.tensor(A["q"], dtype=torch.float64) * 10.0 ** A["exp"]
    return out


# ------------------------------------------------------------------ the numbers are the package's

POINTS = [(0.05, 0.5, 1.0, 1), (0.3, 1.5, 1.0, 8), (0.5, 3.0, 30.0, 8), (0.1, 1.5, 10.0, 2)]


@pytest.mark.parametrize("point", POINTS, ids=lambda p: "fast={}-slow={}-w={}-K={}".format(*p))
def test_frames_equal_the_package_to_the_stored_digits(built, point) -> None:
    """Filters, spectra, 99% band and A(u) at grid points, against the package computed here in
    float64. Tolerance: storing keeps 4 significant digits, which moves a number by at most
    ROUNDING_REL = 5e-4 of itself (A(u): of its largest entry), and the float64 evaluation is the
    same code, so nothing else differs; a wrong channel, seed or slider order is off by O(1)."""
    _, _, data = built
    frame = _frame(data, point)
    bank, A_ref = _reference(*point)
    rows = [(r["step"], r["channel"]) for r in data["rows"]]
    assert rows == [(1, 0), (1, 3), (2, 0), (2, 3)]
    h_ref = torch.stack([bank[n - 1, c] for n, c in rows])  # (4, 64)
    h = torch.tensor(frame["h"], dtype=torch.float64)
    assert h.shape == h_ref.shape
    assert bool(((h - h_ref).abs() <= ROUNDING_REL * h_ref.abs() * (1 + 1e-9)).all())
    mag_ref = torch.fft.rfft(h_ref).abs()  # (4, 33), not through hyena_lab.spectra
    mag = torch.tensor(frame["mag"], dtype=torch.float64)
    assert bool(((mag - mag_ref).abs() <= ROUNDING_REL * mag_ref.abs() * (1 + 1e-9)).all())
    energy = (torch.fft.rfft(bank.reshape(8, 64)).abs() ** 2).sum(dim=0)  # pooled over the bank
    share = torch.cumsum(energy, 0) / energy.sum()
    assert frame["band"] == int((share < 0.99 - 1e-12).sum()) + 1
    A = _dense(frame["A"], 64)
    assert bool((A_ref.triu(1) == 0).all()), "A(u) is causal: nothing above the diagonal"
    step = 10.0 ** frame["A"]["exp"]  # one unit of the stored integers
    assert step <= 1e-3 * float(A_ref.abs().max()) * (1 + 1e-9)  # 4 digits of the largest entry
    assert float((A - A_ref).abs().max()) <= 0.5 * step * (1 + 1e-9)


def test_frames_match_a_float32_operator(built) -> None:
    """What a student builds in a notebook (float32, the default dtype) gives the same picture:
    the stored digits (ROUNDING_REL of each filter value; of max |A| for each entry of A(u)) plus
    F32_FFT_CHAIN (float32 against float64 for two convolutions and gates at L = 64)."""
    _, _, data = built
    point = (0.2, 1.5, 3.0, 4)
    bank32, A32 = _reference(*point, dtype=torch.float32)
    frame = _frame(data, point)
    rows = [(r["step"], r["channel"]) for r in data["rows"]]
    h32 = torch.stack([bank32[n - 1, c] for n, c in rows])
    assert rel_err(torch.tensor(frame["h"]), h32) < ROUNDING_REL + F32_FFT_CHAIN
    peak = float(A32.abs().max())
    assert float((_dense(frame["A"], 64) - A32).abs().max()) < (ROUNDING_REL + F32_FFT_CHAIN) * peak


def test_windows_reach_the_target_where_the_sliders_say(built) -> None:
    """The slowest filter (h^1, channel 0) reaches the target at the slow decay and the fastest
    (h^2, last channel) at the fast decay: the sliders mean what their labels say."""
    _, _, data = built
    for fast, slow in itertools.product(*(s["values"] for s in data["sliders"][:2])):
        reach = _frame(data, (fast, slow, 1.0, 8))["reach"]
        assert math.isclose(reach[0], slow, rel_tol=ROUNDING_REL)
        assert math.isclose(reach[-1], fast, rel_tol=ROUNDING_REL)
        assert reach == sorted(reach, reverse=True)  # rows from the slowest to the fastest


# ------------------------------------------------------------------ the grid and the page


def test_grid_is_what_the_sliders_step_through(built) -> None:
    """One frame per combination; each slider's values are the config's grid, increasing, and
    start at the grid value nearest chapter 03's widget default, which lies inside the range."""
    _, summary, data = built
    config = BuildConfig()
    sliders = data["sliders"]
    assert [s["name"] for s in sliders] == [name for name, _, _ in explorer.SLIDERS]
    for s, grid in zip(sliders, config.grids, strict=True):
        assert s["values"] == list(grid) and s["values"] == sorted(set(s["values"]))
        start = explorer.START[s["name"]]
        assert s["values"][0] <= start <= s["values"][-1], f"{s['name']}: default off the grid"
        assert s["values"][s["start"]] == min(
            s["values"], key=lambda v, a=start: abs(math.log(v / a))
        )
    assert len(data["frames"]) == math.prod(len(s["values"]) for s in sliders) == summary["frames"]
    assert max(sliders[0]["values"]) <= min(sliders[1]["values"])  # every (fast, slow) is valid
    L = data["settings"]["seq_len"]
    for frame in data["frames"]:
        assert len(frame["A"]["q"]) == L * (L + 1) // 2
        assert len(frame["h"]) == len(frame["mag"]) == len(data["rows"])
        assert 1 <= frame["band"] <= L // 2 + 1


def test_page_size_and_what_it_says(built) -> None:
    """The embedded data stays under 3 MB; the page names every grid value, the number of grid
    points, the code and versions that computed them, and has no unfilled template field."""
    page, summary, data = built
    assert summary["data_bytes"] < 3_000_000, f"{summary['data_bytes'] / 1e6:.2f} MB of data"
    text = page.read_text("utf-8")
    assert not re.search(r"\{\{[A-Z]+\}\}", text), "an unfilled template field"
    assert f"<b>{len(data['frames']):,} grid points</b>" in text
    for s in data["sliders"]:
        assert ", ".join(f"{v:g}" for v in s["values"]) in text, s["name"]
    for name in (
        "HyenaOperator",
        "materialize",
        "ImplicitFilter",
        "spectral_cutoff",
        f"hyena_lab {data['source']['hyena_lab']}",
        f"torch {torch.__version__}",
    ):
        assert name in text, name
    assert 'data-draws="0"' in text and 'id="explorer"' in text
    assert "http://" not in text.split("<script", 1)[0] and "https://" not in text  # no network
    assert (page.stat().st_mode & 0o777) == 0o644


def test_two_builds_are_byte_identical(tmp_path) -> None:
    config = {**SMALL, "seq_len": 32}
    first = explorer.build(BuildConfig(out_dir=str(tmp_path / "a"), **config))
    second = explorer.build(BuildConfig(out_dir=str(tmp_path / "b"), **config))
    assert first["frames"] == 16
    assert Path(first["out"]).read_bytes() == Path(second["out"]).read_bytes()


def test_build_command_takes_the_folder_as_argument(tmp_path, capsys) -> None:
    grid = [arg for name, values in SMALL.items()
            for arg in (f"--{name.replace('_', '-')}", *map(str, values))]  # fmt: skip
    assert explorer.main(["build", str(tmp_path / "page"), *grid, "--seq-len", "16"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["out"] == str(tmp_path / "page" / "index.html") and summary["frames"] == 16
    assert explorer.read_page_data(tmp_path / "page")["settings"]["seq_len"] == 16


def test_the_commands_fit_under_hyena_lab(tmp_path) -> None:
    """``add_explorer_command`` gives ``hyena-lab explorer build|serve`` the same options."""
    parser = argparse.ArgumentParser()
    explorer.add_explorer_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["explorer", "build", str(tmp_path), "--seq-len", "16"])
    assert args.out_dir == str(tmp_path) and args.seq_len == 16 and callable(args.func)
    args = parser.parse_args(["explorer", "build"])
    assert args.out_dir == "build/explorer" and args.w == (1.0, 3.0, 10.0, 30.0)
    args = parser.parse_args(["explorer", "serve", "--port", "0"])
    assert (args.port, args.dir, args.rebuild) == (0, "build/explorer", False)


# ------------------------------------------------------------------ bad arguments


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fast_decay_pct": (0.3, 0.1)}, "strictly increasing"),
        ({"fast_decay_pct": ()}, "non-empty sequence"),
        ({"fast_decay_pct": (0.1, 2.0)}, "every fast decay must be <= every slow decay"),
        ({"w": (0.0, 1.0)}, "finite and > 0"),
        ({"bands": (0, 2)}, "must be >= 1"),
        ({"bands": (1.5,)}, "must be an int"),
        ({"seq_len": 3}, "seq_len must be an int in [4, 128]"),
        ({"seq_len": 1024}, "A(u) is dense"),
        ({"d_model": 0}, "d_model must be >= 1"),
        ({"seed": -1}, "seed must be >= 0"),
    ],
)
def test_bad_configs_say_what_was_expected(kwargs, message) -> None:
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        BuildConfig(**kwargs)


def test_build_refuses_a_file_and_too_much_data(tmp_path) -> None:
    target = tmp_path / "a-file"
    target.write_text("not a folder")
    with pytest.raises(ValueError, match="is a file; give a folder"):
        explorer.build(BuildConfig(out_dir=str(target), **SMALL))
    with pytest.raises(ValueError, match="over max_data_mb"):
        explorer.build(BuildConfig(out_dir=str(tmp_path / "x"), max_data_mb=0.01, **SMALL))
    assert not (tmp_path / "x" / "index.html").exists()
    with pytest.raises(ValueError, match=r"A must be square \(L, L\)"):
        explorer.quantise(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="port must be an int in"):
        ServeConfig(port=70000)
    with pytest.raises(ValueError, match="holds no explorer data"):
        explorer.read_page_data(target)


def test_command_line_errors_are_clear(tmp_path, capsys) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    assert explorer.main(["build", str(target)]) == 2
    assert "explorer build: error: out_dir" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        explorer.main(["build", "--seq-len", "2"])
    assert stop.value.code == 2
    assert "expected a whole number [4, 128]" in capsys.readouterr().err


# ------------------------------------------------------------------ serving


def _occupied_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


def test_serve_says_when_the_port_is_in_use(tmp_path, capsys) -> None:
    sock, port = _occupied_port()
    try:
        with pytest.raises(ValueError, match=f"port {port} on 127.0.0.1 is already in use"):
            explorer.make_server(tmp_path, port)
        code = explorer.main(["serve", "--port", str(port), "--dir", str(tmp_path / "page")])
    finally:
        sock.close()
    assert code == 2
    err = capsys.readouterr().err
    assert f"explorer serve: error: port {port} on 127.0.0.1 is already in use" in err
    assert "--port" in err
    assert not (tmp_path / "page").exists(), "the port is checked before any build"


def test_server_serves_the_page_on_localhost(built) -> None:
    page, _, _ = built
    server = explorer.make_server(page.parent, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        with LOCAL.open(f"http://127.0.0.1:{port}/", timeout=10) as reply:
            assert reply.status == 200 and reply.read() == page.read_bytes()
    finally:
        server.shutdown()
        server.server_close()


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_serve_command_prints_the_url_and_stops_on_ctrl_c(built) -> None:
    page, _, _ = built
    cmd = [sys.executable, "-m", "hyena_lab.explorer", "serve", "--port", "0", "--dir",
           str(page.parent)]  # fmt: skip
    # Ctrl-C as in a terminal: a background job (`make test &`, CI) ignores SIGINT, and its
    # children would inherit that and never stop; give the server the default disposition
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_default_sigint)  # fmt: skip
    try:
        line = proc.stdout.readline()  # the page exists: nothing is built first
        assert line.startswith("explorer: open http://127.0.0.1:") and line.endswith("/\n"), line
        with LOCAL.open(line.split()[-1], timeout=10) as reply:
            assert reply.status == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "explorer: stopped" in out and "Traceback" not in err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["stopped"] == "Ctrl-C" and summary["url"] == line.split()[-1]
