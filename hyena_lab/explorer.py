"""The filter-decay explorer: chapter 03's implicit filters and chapter 02's ``A(u)`` on one page
that runs in any browser, with no JupyterLab and no Python kernel (issue 20).

The static book with the widgets' Python logic precomputed: :func:`explorer_data` evaluates the
package's own code on a grid of slider values (the decay window of eq. 7,
``ExponentialModulation``'s ``fast_decay_pct`` and ``slow_decay_pct``; the sine frequency ``w``
of ``Sin``; the number ``K`` of positional-encoding bands, ``emb_dim = 2K + 1``; Sec. 3.3 and
App. D.3), and :func:`build` writes
one self-contained ``index.html`` (the template ``hyena_lab/data/explorer.html``, plain
JavaScript, the data embedded) whose sliders step through that grid and redraw at once:

(a) a few of the filters ``h^n_t`` of an order-2 :class:`~hyena_lab.operator.HyenaOperator`
    (its :class:`~hyena_lab.filters.ImplicitFilter` bank, ``Window(t) * FFN(PE(t))``, eq. 7);
(b) their magnitude spectra ``|rfft(h)|`` with the 99% band
    (:func:`~hyena_lab.spectra.magnitude_spectrum`, :func:`~hyena_lab.spectra.spectral_cutoff`);
(c) the operator's data-controlled matrix ``A(u) = D_x^2 S_h^2 D_x^1 S_h^1`` (Sec. 3.2,
    :meth:`~hyena_lab.operator.HyenaOperator.materialize`) for one channel and a fixed seeded
    input ``u`` (:func:`~hyena_lab.experiments.examples.make_input`).

Every grid point builds the operator afresh from one seed, so moving a slider changes only what
that slider controls (``K`` changes the FFN's first layer, so the random weights after it are
drawn anew). The browser only draws: between grid values there is nothing to show. Numbers are
stored to :data:`SIGNIFICANT_DIGITS` significant digits (``A(u)`` to that many digits of its
largest entry, as integers); :data:`ROUNDING_REL` bounds what that costs.

``python -m hyena_lab.explorer build OUT_DIR`` writes the page; ``python -m hyena_lab.explorer
serve [--port 8000] [--dir OUT_DIR]`` builds it if missing and serves it on 127.0.0.1
(``make explorer``). The page also opens from the disk (``file://``), which is how the book ships
it.
"""

from __future__ import annotations

import argparse
import errno
import html
import itertools
import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .checks import check_positive_float, check_positive_int
from .experiments import Experiment, add_command, option
from .experiments.examples import make_input
from .files import write_atomic
from .filters import emb_dim_for_bands, seeded
from .measure import Stopwatch
from .operator import HyenaOperator
from .options import HelpFormatter, int_in
from .progress import progress_bar
from .spectra import magnitude_spectrum, spectral_cutoff

__all__ = [
    "CHANNEL", "MAX_SEQ_LEN", "ORDER", "ROUNDING_REL", "SCHEMA", "SIGNIFICANT_DIGITS", "SLIDERS",
    "BuildConfig", "ServeConfig", "add_explorer_command", "build", "explorer_data",
    "explorer_input", "explorer_operator", "grid_point", "main", "make_server", "quantise",
    "read_page_data", "render_page", "round_significant", "serve", "shown_filters",
]  # fmt: skip

#: Schema of the embedded data (bump it when its layout changes).
SCHEMA = "hyena-lab-explorer/1"
#: Significant digits kept of every stored number: the page draws at most a few hundred pixels
#: per axis, so 4 digits (a part in 10^4) are far below what a reader can see.
SIGNIFICANT_DIGITS = 4
#: What storing costs, relative: rounding ``x`` to ``d`` significant digits moves it by at most
#: half a unit in the last digit, ``0.5 * 10^(e - d + 1) <= 0.5 * 10^(1 - d) |x|`` for
#: ``10^e <= |x| < 10^(e+1)``: ``5e-4 |x|`` for 4 digits (filters and spectra, per number). ``A(u)``
#: is stored as integers times one power of ten, 4 digits of its largest entry: each entry moves
#: by at most ``5e-4 max |A(u)|``.
ROUNDING_REL = 0.5 * 10.0 ** (1 - SIGNIFICANT_DIGITS)
#: The order ``N`` of the operator whose ``A(u)`` the page draws (chapter 02's order-2 operator).
ORDER = 2
#: The channel of ``A(u)`` (one ``(L, L)`` matrix per channel) that the page draws.
CHANNEL = 0
#: Longest sequence: ``A(u)`` is dense, ``L (L + 1) / 2`` stored entries per grid point.
MAX_SEQ_LEN = 128
#: The sliders, in the order of the frame index: ``(name, label, unit)``; ``name`` is the
#: :class:`BuildConfig` field holding its grid and the keyword of :func:`grid_point`.
SLIDERS: tuple[tuple[str, str, str], ...] = (
    ("fast_decay_pct", "fast decay", "fraction of the sequence where the fastest window reaches "
                                     "the target"),
    ("slow_decay_pct", "slow decay", "fraction of the sequence where the slowest window reaches "
                                     "the target"),
    ("w", "sine frequency w", "frequency of the FFN's sine activation"),
    ("bands", "bands K", "positional-encoding frequencies, emb_dim = 2K + 1"),
)  # fmt: skip
#: Where the sliders start: the grid value nearest (in log scale) to chapter 03's widget defaults.
START = {"fast_decay_pct": 0.3, "slow_decay_pct": 1.5, "w": 1.0, "bands": 8}
#: Substituted in the template ``hyena_lab/data/explorer.html``.
PLACEHOLDERS = ("{{DATA}}", "{{GRID}}", "{{SOURCE}}", "{{SETTINGS}}", "{{FRAMES}}")
_DATA_RE = re.compile(
    r'<script id="explorer-data" type="application/json">(.*?)</script>', re.DOTALL
)
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _grid(values: object, name: str, integer: bool = False) -> tuple:
    """``values`` as a strictly increasing tuple of positive numbers (ints with ``integer``)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ValueError(f"{name} must be a non-empty sequence of grid values, got {values!r}")
    if integer:
        out = tuple(check_positive_int(v, f"each value of {name}") for v in values)
    else:
        out = tuple(check_positive_float(v, f"each value of {name}") for v in values)
    if any(b <= a for a, b in itertools.pairwise(out)):
        raise ValueError(f"{name} must be strictly increasing (one slider step per value), "
                         f"got {list(out)}")  # fmt: skip
    return out


@dataclass(frozen=True)
class BuildConfig:
    """What :func:`build` computes: the slider grids and the fixed operator and input."""

    out_dir: str = option("build/explorer", "folder that receives index.html (created if needed)")
    fast_decay_pct: tuple[float, ...] = option(
        (0.05, 0.1, 0.2, 0.3, 0.5), "grid of the fast-decay slider (fraction of the sequence)"
    )
    slow_decay_pct: tuple[float, ...] = option(
        (0.5, 1.5, 3.0), "grid of the slow-decay slider; each must be >= every fast decay"
    )
    w: tuple[float, ...] = option((1.0, 3.0, 10.0, 30.0), "grid of the sine-frequency slider")
    bands: tuple[int, ...] = option((1, 2, 4, 8), "grid of the bands-K slider (emb_dim = 2K + 1)")
    seq_len: int = option(
        64,
        f"L: filter length = l_max = input length (4..{MAX_SEQ_LEN})",
        type=int_in(4, MAX_SEQ_LEN),
    )
    d_model: int = option(
        4, "width of the operator (its bank holds 2 * d_model filters)", type=int_in(1, 64)
    )
    seed: int = option(0, "seed of the operator's weights", type=int_in(0))
    input_seed: int = option(1, "seed of the fixed input u (i.i.d. normal)", type=int_in(0))
    max_data_mb: float = option(3.0, "refuse to write more embedded data than this (MB)")

    def __post_init__(self) -> None:
        for name, _, _ in SLIDERS:
            object.__setattr__(self, name, _grid(getattr(self, name), name, name == "bands"))
        if max(self.fast_decay_pct) > min(self.slow_decay_pct):
            raise ValueError(
                f"every fast decay must be <= every slow decay, so that each pair of slider "
                f"positions is a valid window (ExponentialModulation needs fast <= slow); got "
                f"fast up to {max(self.fast_decay_pct)} and slow from {min(self.slow_decay_pct)}"
            )
        if (
            isinstance(self.seq_len, bool)
            or not isinstance(self.seq_len, int)
            or not (4 <= self.seq_len <= MAX_SEQ_LEN)
        ):
            raise ValueError(f"seq_len must be an int in [4, {MAX_SEQ_LEN}] (A(u) is dense), "
                             f"got {self.seq_len!r}")  # fmt: skip
        check_positive_int(self.d_model, "d_model")
        check_positive_int(self.seed, "seed", minimum=0)
        check_positive_int(self.input_seed, "input_seed", minimum=0)
        check_positive_float(self.max_data_mb, "max_data_mb")
        if not isinstance(self.out_dir, (str, Path)) or not str(self.out_dir):
            raise ValueError(f"out_dir must name a folder, got {self.out_dir!r}")

    @property
    def grids(self) -> list[tuple]:
        """The slider grids in the order of :data:`SLIDERS`."""
        return [getattr(self, name) for name, _, _ in SLIDERS]


# ----------------------------------------------------------------------- the package's numbers


def explorer_operator(config: BuildConfig, fast_decay_pct: float, slow_decay_pct: float,
                      w: float, bands: int) -> HyenaOperator:  # fmt: skip
    """The float64 order-2 operator of one grid point, built from ``config.seed`` (the global
    RNG is left alone): ``HyenaOperator(d_model, l_max=seq_len, order=2)`` with implicit filters
    of ``emb_dim = 2 * bands + 1``, sine frequency ``w`` and the decay window of eq. (7)."""
    filter_args = {"emb_dim": emb_dim_for_bands(bands), "w": float(w),
                   "fast_decay_pct": float(fast_decay_pct),
                   "slow_decay_pct": float(slow_decay_pct)}  # fmt: skip
    with seeded(config.seed):
        op = HyenaOperator(config.d_model, config.seq_len, order=ORDER, filter_args=filter_args)
    return op.double().eval()


def explorer_input(config: BuildConfig) -> torch.Tensor:
    """The fixed input ``u`` ``(1, seq_len, d_model)`` float64: i.i.d. normal from
    ``config.input_seed`` (chapter 02's ``make_input("random", ...)``)."""
    return make_input("random", config.seq_len, config.d_model, seed=config.input_seed)


def shown_filters(d_model: int) -> list[tuple[int, int]]:
    """The ``(step n, channel c)`` of the filters ``h^n`` drawn: both steps of the first and the
    last channel; channel :data:`CHANNEL`'s two are the ones inside the drawn ``A(u)``."""
    check_positive_int(d_model, "d_model")
    channels = sorted({CHANNEL, d_model - 1})
    return [(n, c) for n in range(1, ORDER + 1) for c in channels]


def grid_point(config: BuildConfig, fast_decay_pct: float, slow_decay_pct: float, w: float,
               bands: int) -> dict[str, Any]:  # fmt: skip
    """The package's numbers at one slider position, float64 and unrounded.

    Returns ``{"h"`` ``(rows, L)``: the :func:`shown_filters`, ``"mag"`` ``(rows, L // 2 + 1)``:
    their ``|rfft|``, ``"band"``: the 99% band of the whole bank (bins ``0 .. band - 1`` hold 99%
    of its energy), ``"band_rows"``: the same per shown filter, ``"reach"``: where each shown
    filter's window ``exp(-|delta| t)`` reaches the target (normalised time ``t`` in ``[0, 1]``),
    ``"A"`` ``(L, L)``: ``A(u)`` of channel :data:`CHANNEL``}``.
    """
    op = explorer_operator(config, fast_decay_pct, slow_decay_pct, w, bands)
    L, rows = config.seq_len, shown_filters(config.d_model)
    with torch.no_grad():
        bank = op.filters(L)  # (N, d_model, L): h^1 .. h^N
        h = torch.stack([bank[n - 1, c] for n, c in rows])  # (rows, L)
        A = op.materialize(explorer_input(config))[CHANNEL]  # (L, L), rows t, columns s
    modulation = op.filter.modulation
    deltas = modulation.deltas.reshape(ORDER, config.d_model)  # (N, d_model), as the bank
    return {
        "h": h,
        "mag": magnitude_spectrum(h),  # (rows, L // 2 + 1)
        "band": spectral_cutoff(bank, 0.99),
        "band_rows": [spectral_cutoff(row, 0.99) for row in h],
        "reach": [math.log(modulation.target) / -abs(float(deltas[n - 1, c])) for n, c in rows],
        "A": A,
    }


# ------------------------------------------------------------------------------ storing them


def round_significant(x: float) -> float:
    """``x`` rounded to :data:`SIGNIFICANT_DIGITS` significant digits."""
    return float(f"{x:.{SIGNIFICANT_DIGITS}g}")


def _rounded(t: torch.Tensor) -> list:
    """A tensor as nested lists of :func:`round_significant` numbers."""
    if t.ndim > 1:
        return [_rounded(row) for row in t]
    return [round_significant(v) for v in t.reshape(-1).tolist()]


def quantise(A: torch.Tensor) -> dict[str, Any]:
    """The lower triangle of a square ``A`` ``(L, L)`` (row by row, ``t = 0..L-1``, ``s = 0..t``;
    the rest of ``A(u)`` is zero: causal) as ``{"exp": e, "q": [ints]}`` with entries
    ``q * 10^e`` and ``e`` chosen so that the largest ``|q|`` has :data:`SIGNIFICANT_DIGITS`
    digits: every entry within ``0.5 * 10^e <= ROUNDING_REL * max |A|``."""
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be square (L, L), got shape {tuple(A.shape)}")
    t, s = torch.tril_indices(A.shape[0], A.shape[1])
    lower = A.detach().double()[t, s]
    peak = float(lower.abs().max())
    if not math.isfinite(peak):
        raise ValueError("A holds a non-finite entry: nothing sensible to draw")
    e = 0 if peak == 0 else math.floor(math.log10(peak)) - (SIGNIFICANT_DIGITS - 1)
    q = torch.round(lower / 10.0**e).to(torch.int64)
    return {"exp": e, "q": q.tolist()}


def explorer_data(config: BuildConfig | None = None) -> dict[str, Any]:
    """The page's data: the sliders (their grids and start), what was fixed, and one frame per
    grid point in the order of ``itertools.product`` over :data:`SLIDERS` (the last slider
    fastest), each :func:`grid_point` rounded (:func:`round_significant`, :func:`quantise`)."""
    config = config or BuildConfig()
    rows = shown_filters(config.d_model)
    sliders = []
    for (name, label, unit), values in zip(SLIDERS, config.grids, strict=True):
        nearest = min(
            range(len(values)), key=lambda i, v=values, s=START[name]: abs(math.log(v[i] / s))
        )
        sliders.append({"name": name, "label": label, "unit": unit, "values": list(values),
                        "start": nearest})  # fmt: skip
    points = list(itertools.product(*config.grids))
    implicit = explorer_operator(config, *points[0]).filter  # what is fixed, read off the filter
    frames = []
    threads = torch.get_num_threads()
    # one thread: the tensors are tiny (threads only contend, 3x slower on 2 busy cores) and
    # the sums are then taken in one order on every machine
    torch.set_num_threads(1)
    try:
        for fast, slow, w, bands in progress_bar(points, desc="explorer grid", unit="point"):
            p = grid_point(config, fast, slow, w, bands)
            frames.append({
                "h": _rounded(p["h"]), "mag": _rounded(p["mag"]), "band": p["band"],
                "band_rows": p["band_rows"], "reach": [round_significant(r) for r in p["reach"]],
                "A": quantise(p["A"]),
            })  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    return {
        "schema": SCHEMA,
        "source": {"hyena_lab": __version__, "torch": torch.__version__, "computed_with": [
            "hyena_lab.operator.HyenaOperator (filters, materialize)",
            "hyena_lab.filters.ImplicitFilter, ExponentialModulation, seeded",
            "hyena_lab.spectra.magnitude_spectrum, spectral_cutoff",
            "hyena_lab.experiments.examples.make_input"]},
        "settings": {"seq_len": config.seq_len, "d_model": config.d_model, "order": ORDER,
                     "channel": CHANNEL, "seed": config.seed, "input": "random",
                     "input_seed": config.input_seed, "target": implicit.modulation.target,
                     "filter_order": implicit.out.in_features,
                     "num_inner_mlps": len(implicit.layers) - 1,
                     "significant_digits": SIGNIFICANT_DIGITS},
        "sliders": sliders,
        "rows": [{"step": n, "channel": c, "in_A": c == CHANNEL,
                  "label": f"h{str(n).translate(_SUPERSCRIPT)}, channel {c}"} for n, c in rows],
        "frames": frames,
    }  # fmt: skip


# ------------------------------------------------------------------------------- the page


def _data_json(data: dict[str, Any]) -> str:
    """Compact JSON that is safe inside ``<script>`` (no ``<``, ``>`` or ``&`` left raw)."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _fmt(v: float) -> str:
    return f"{v:g}"


def render_page(data: dict[str, Any]) -> str:
    """``index.html``: the template with the data embedded and the grid, the fixed settings and
    the code's versions written into the text (readable without JavaScript)."""
    template = resources.files("hyena_lab").joinpath("data", "explorer.html").read_text("utf-8")
    missing = [p for p in PLACEHOLDERS if p not in template]
    if missing:
        raise ValueError(f"the explorer template lacks the placeholders {missing}")
    grid = "\n".join(
        f"<li><b>{html.escape(s['label'])}</b> ({html.escape(s['unit'])}): "
        f"{', '.join(_fmt(v) for v in s['values'])}</li>" for s in data["sliders"])  # fmt: skip
    st = data["settings"]
    settings = (
        f"an order-{st['order']} <code>HyenaOperator(d_model={st['d_model']}, "
        f"l_max={st['seq_len']}, order={st['order']})</code> with implicit filters "
        f"(FFN width {st['filter_order']}, {st['num_inner_mlps']} inner layers, window target "
        f"{_fmt(st['target'])}), built afresh from seed {st['seed']} at every grid point; the "
        f'input <code>u = make_input("random", {st["seq_len"]}, {st["d_model"]}, '
        f"seed={st['input_seed']})</code>; A(u) of channel {st['channel']}"
    )
    src = data["source"]
    source = (
        f"hyena_lab {html.escape(src['hyena_lab'])} with torch {html.escape(src['torch'])}: "
        + "; ".join(f"<code>{html.escape(c)}</code>" for c in src["computed_with"])
    )
    values = {"{{DATA}}": _data_json(data), "{{GRID}}": grid, "{{SOURCE}}": source,
              "{{SETTINGS}}": settings, "{{FRAMES}}": f"{len(data['frames']):,}"}  # fmt: skip
    return re.sub("|".join(re.escape(p) for p in PLACEHOLDERS), lambda m: values[m[0]], template)


def read_page_data(path: str | Path) -> dict[str, Any]:
    """The data embedded in a built ``index.html`` (or the folder holding it)."""
    path = Path(path)
    path = path / "index.html" if path.is_dir() else path
    found = _DATA_RE.search(path.read_text("utf-8"))
    if found is None:
        raise ValueError(f"{path} holds no explorer data: is it a page of `explorer build`?")
    return json.loads(found[1])


def build(config: BuildConfig | None = None) -> dict[str, Any]:
    """Compute :func:`explorer_data` and write ``index.html`` into ``config.out_dir``
    (atomically). Returns ``{"out", "frames", "data_bytes", "page_bytes", "seconds"}``."""
    config = config or BuildConfig()
    out = Path(config.out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir {out} is a file; give a folder for index.html")
    clock = Stopwatch()
    data = explorer_data(config)
    size = len(_data_json(data).encode())
    if size > config.max_data_mb * 1e6:
        raise ValueError(
            f"the page's data would be {size / 1e6:.2f} MB, over max_data_mb = "
            f"{config.max_data_mb:g}: use fewer grid values or a shorter seq_len"
        )
    page = render_page(data).encode("utf-8")
    path = write_atomic(out / "index.html", page)
    path.chmod(0o644)  # a web page: readable by the server that serves it (mkstemp made it 0600)
    return {"out": str(path), "frames": len(data["frames"]), "data_bytes": size,
            "page_bytes": len(page), "seconds": round(clock.elapsed(), 2)}  # fmt: skip


# ------------------------------------------------------------------------------- the server


@dataclass(frozen=True)
class ServeConfig:
    """What :func:`serve` serves, and where."""

    port: int = option(8000, "TCP port on 127.0.0.1 (0: any free port)", type=int_in(0, 65535))
    dir: str = option("build/explorer", "folder of the page (built there first if missing)")
    rebuild: bool = option(False, "build the page again even if it exists")

    def __post_init__(self) -> None:
        if (
            isinstance(self.port, bool)
            or not isinstance(self.port, int)
            or not (0 <= self.port <= 65535)
        ):
            raise ValueError(f"port must be an int in [0, 65535], got {self.port!r}")


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files from its folder without a log line per request."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_server(directory: str | Path, port: int) -> ThreadingHTTPServer:
    """An HTTP server of the files in ``directory`` on ``127.0.0.1:port`` (bound, not yet
    serving: call ``serve_forever``). A port in use is a ``ValueError`` saying so."""
    ServeConfig(port=port)  # the same checks as the command line
    handler = partial(_QuietHandler, directory=str(directory))
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise ValueError(
                f"port {port} on 127.0.0.1 is already in use (another server?): "
                f"stop it, or choose another port with --port"
            ) from err
        if err.errno == errno.EACCES:
            raise ValueError(
                f"port {port} needs privileges on this machine: choose one above 1023 with --port"
            ) from err
        raise


def serve(config: ServeConfig | None = None) -> dict[str, Any]:
    """Serve the page in ``config.dir`` (built there first if missing) until Ctrl-C. The port is
    bound before anything else, so a port in use fails at once."""
    config = config or ServeConfig()
    folder = Path(config.dir)
    server = make_server(folder, config.port)
    port = server.server_address[1]
    stopped = "shut down"
    try:
        if config.rebuild or not (folder / "index.html").exists():
            built = build(BuildConfig(out_dir=str(folder)))
            print(f"explorer: built {built['out']} ({built['frames']} grid points, "
                  f"{built['seconds']} s)", flush=True)  # fmt: skip
        print(f"explorer: open http://127.0.0.1:{port}/", flush=True)
        print(f"explorer: serving {folder}; Ctrl-C stops it", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        stopped = "Ctrl-C"
        print("\nexplorer: stopped", flush=True)
    finally:
        server.server_close()
    return {"url": f"http://127.0.0.1:{port}/", "dir": str(folder), "stopped": stopped}


# ------------------------------------------------------------------------ the command line

BUILD = Experiment(
    "build", "compute the explorer's grid with the package's code and write index.html",
    BuildConfig, build, record=False,
    description="Evaluate the order-2 Hyena operator's implicit filters, their spectra and A(u) "
    "at every point of the slider grid and write one self-contained page, OUT_DIR/index.html "
    "(OUT_DIR: the positional argument or --out-dir). The last line is JSON.",
)  # fmt: skip
SERVE = Experiment(
    "serve", "serve the explorer on 127.0.0.1 (building it first if missing)", ServeConfig, serve,
    record=False,
    description="Serve the explorer page with Python's http.server on 127.0.0.1 until Ctrl-C; "
    "prints `explorer: open http://127.0.0.1:PORT/`.",
)  # fmt: skip


def _add_subcommands(sub: argparse._SubParsersAction) -> None:
    parser = add_command(sub, BUILD)
    parser.add_argument("out_dir", nargs="?", default=argparse.SUPPRESS, metavar="OUT_DIR",
                        help="folder for index.html (same as --out-dir)")  # fmt: skip
    add_command(sub, SERVE)


def add_explorer_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``explorer`` group (``explorer build``, ``explorer serve``) to a command line,
    e.g. ``hyena-lab``'s."""
    group = subparsers.add_parser(
        "explorer",
        help="the filter-decay explorer page: build, serve",
        description=__doc__,
        formatter_class=HelpFormatter,
    )
    _add_subcommands(group.add_subparsers(dest="explorer_command", required=True))
    return group


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m hyena_lab.explorer build OUT_DIR | serve [--port P] [--dir D]``."""
    parser = argparse.ArgumentParser(
        prog="python -m hyena_lab.explorer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except (ValueError, TypeError) as err:
        print(f"explorer {args.command}: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
