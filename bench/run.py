#!/usr/bin/env python
"""Microbenchmark of one optimizer step: fastoptim's native core against its NumPy reference,
a same-traffic "ceiling" kernel and torch.optim (for-loop, foreach and fused).

    python bench/run.py                      # every optimizer, default sizes, 1 and all threads
    python bench/run.py --quick --optimizers adam,sgd_momentum
    python bench/run.py --isa all --readme   # the run behind bench/README.md (rewrites it)
    python bench/run.py --load bench/results/latest.json --readme --plot bench/results/gbps.png

Every implementation of one (optimizer, size, threads, dtype) point is sampled round-robin,
so a noisy neighbour slows all of them alike, and the median sample is reported.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import itertools
import json
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

import fastoptim as fo
from fastoptim import _native

try:
    import torch
except ImportError:  # every torch column then reads "n/a"
    torch = None

HERE = Path(__file__).resolve().parent
TORCH_FLAGS: dict[str, dict[str, bool]] = {
    "torch_loop": {"foreach": False},  # torch's CPU default: one tensor at a time
    "torch_foreach": {"foreach": True},
    "torch_fused": {"fused": True},
}
# Named configurations besides each class's defaults (name: (class name, options)).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd_momentum": ("SGD", {"momentum": 0.9}),
    "sgd_nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adam_amsgrad": ("Adam", {"amsgrad": True}),
    # the cost of the gradient policies: one more read of every grad before the update
    "adam_nonfinite_skip": ("Adam", {"nonfinite": "skip"}),
    "adam_clip_norm": ("Adam", {"clip_norm": 1.0}),
}
DEFAULT_VARIANTS = ("sgd_momentum", "adam_nonfinite_skip", "adam_clip_norm")
MAX_CEILING_STATE = 3  # the ceiling kernel has the buffers s1, s2, s3
OVERHEAD_CASE = (1, 1000)  # the per-step overhead table: one param of 1000 elements
Case = tuple[int, int]  # (number of params, elements per param)


# ------------------------------------------------------------------------------ optimizers
@dataclass(frozen=True)
class Spec:
    name: str
    cls_name: str
    options: dict[str, Any]
    n_state: int  # state arrays per param after a step (the ceiling's buffer count)


def optimizer_classes() -> dict[str, type]:
    """fastoptim's optimizer classes by lower-case name, found by introspection so that
    optimizers added later are benchmarked without editing this file."""
    found = {}
    for name in fo.__all__:
        obj = getattr(fo, name)
        if isinstance(obj, type) and issubclass(obj, fo.Optimizer) and hasattr(obj, "_kernel"):
            found[name.lower()] = obj
    return found


def count_state(cls: type, options: dict[str, Any]) -> int:
    """Arrays in ``opt.state[p]`` after one step: what the optimizer reads and writes per
    element besides the param and the grad."""
    p = np.zeros(8, np.float32)
    opt = cls([p], **options)
    opt.step([np.ones_like(p)])
    return sum(isinstance(v, np.ndarray) and v.shape == p.shape for v in opt.state[p].values())


def resolve_specs(names: list[str] | None) -> list[Spec]:
    classes = optimizer_classes()
    by_class = {cls.__name__: cls for cls in classes.values()}
    explicit = names is not None
    if names is None:
        names = list(classes) + [v for v in DEFAULT_VARIANTS if VARIANTS[v][0] in by_class]
    specs = []
    for name in names:
        cls_name, options = VARIANTS.get(name, (None, {}))
        cls = by_class.get(cls_name) if cls_name else classes.get(name)
        if cls is None:
            sys.exit(f"unknown optimizer {name!r}; available: "
                     f"{', '.join(list(classes) + list(VARIANTS))}")
        n_state = count_state(cls, options)
        if n_state > MAX_CEILING_STATE and not explicit:
            print(f"skipping {name}: {n_state} state buffers, the ceiling models at most "
                  f"{MAX_CEILING_STATE}", file=sys.stderr)
            continue
        specs.append(Spec(name, cls.__name__, options, n_state))
    return specs


# ---------------------------------------------------------------------------------- timing
@dataclass
class Impl:
    name: str
    step: Callable[[], Any]
    before: Callable[[], Any] = field(default=lambda: None)  # untimed setup of each sample
    threaded: bool = True  # False: the thread setting cannot change it (measured once)


def _sample(impl: Impl, calls: int) -> float:
    impl.before()
    gc.disable()  # a collection triggered by torch's Python objects would land on one impl
    try:
        t0 = time.perf_counter()
        for _ in range(calls):
            impl.step()
        return (time.perf_counter() - t0) / calls
    finally:
        gc.enable()


def measure(impls: list[Impl], reps: int, sample_s: float, budget_s: float) -> dict[str, dict]:
    """Seconds per call of each impl: the median of ``reps`` samples taken round-robin over
    the impls (so they share the machine's noise); a sample repeats the call until it lasts
    about ``sample_s``. Rounds are cut (to 3 at least) when one would exceed ``budget_s /
    reps``: at 5e7 elements the slow impls take seconds per call."""
    calls, round_s = {}, 0.0
    for im in impls:
        once = _sample(im, 1)  # warm-up: lazily created state, first-touch page faults
        if once < sample_s:  # else (large sizes) the warm-up's time is a good enough guess
            once = _sample(im, 1)
        calls[im.name] = max(1, math.ceil(sample_s / once))
        round_s += calls[im.name] * once
    reps = max(3, min(reps, int(budget_s / max(round_s, 1e-9))))
    samples: dict[str, list[float]] = {im.name: [] for im in impls}
    for r in range(reps):
        # Alternate the order so that no impl always follows the same one (caches, clocks).
        for im in impls if r % 2 == 0 else impls[::-1]:
            samples[im.name].append(_sample(im, calls[im.name]))
    return {name: {"median_s": statistics.median(s), "min_s": min(s), "reps": len(s),
                   "calls": calls[name]} for name, s in samples.items()}


# ------------------------------------------------------------------------ implementations
def build_impls(spec: Spec, case: Case, dtype: np.dtype, isas: list[str],
                skipped: dict[str, str]) -> list[Impl]:
    """Every implementation of one step over ``case``, each on its own copy of the params
    and state, all reading the same grads. Torch variants that cannot run (no such
    optimizer, no fused kernel) land in ``skipped`` with the reason."""
    n_params, numel = case
    rng = np.random.default_rng(0)
    base = [rng.standard_normal(numel, dtype=dtype) for _ in range(n_params)]
    grads = [rng.standard_normal(numel, dtype=dtype) * dtype.type(1e-2) for _ in range(n_params)]
    copies = lambda: [b.copy() for b in base]  # noqa: E731
    fo_cls = getattr(fo, spec.cls_name)
    native = fo_cls(copies(), **spec.options)
    # One optimizer (and one ceiling plan) for every ISA: the ISA is switched before each
    # sample, outside the timed region, so the ISAs are interleaved like everything else.
    impls = [Impl(f"native@{isa}", lambda: native.step(grads), lambda isa=isa: fo.use_isa(isa))
             for isa in isas]
    if spec.n_state <= MAX_CEILING_STATE:
        xs = [copies() for _ in range(1 + spec.n_state)]
        plan = _native.Plan("ceiling", xs[0], {f"s{k}": xs[k] for k in range(1, len(xs))},
                            [str(i) for i in range(n_params)])
        coeffs, rows = [()], np.zeros(n_params, np.int64)
        impls += [Impl(f"ceiling@{isa}", lambda: plan.step(grads, coeffs, rows),
                       lambda isa=isa: fo.use_isa(isa)) for isa in isas]
    ref_cls = getattr(fo.reference, spec.cls_name, None)
    if ref_cls is not None:
        reference = ref_cls(copies(), **spec.options)
        # NumPy's ufuncs run on one thread: measured at the first thread count only.
        impls.append(Impl("reference", lambda: reference.step(grads), threaded=False))
    for name, flags in TORCH_FLAGS.items():
        try:
            impls.append(Impl(name, torch_step(spec, base, grads, flags)))
        except Exception as e:  # any failure means: torch cannot run this variant
            skipped[name] = f"{type(e).__name__}: {e}".splitlines()[0][:120]
    return impls


def torch_step(spec: Spec, base: list[np.ndarray], grads: list[np.ndarray],
               flags: dict[str, bool]) -> Callable[[], Any]:
    if torch is None:
        raise ImportError("torch is not installed")
    cls = getattr(torch.optim, spec.cls_name, None)
    if cls is None:
        raise AttributeError(f"torch.optim has no {spec.cls_name}")
    params = [torch.tensor(b).requires_grad_() for b in base]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g)  # set once, shared with the other impls (read only)
    opt = cls(params, **spec.options, **flags)
    opt.step()  # raises here for an unsupported combination, not in the middle of timing
    return opt.step


# ------------------------------------------------------------------------------------ run
def run(args: argparse.Namespace) -> dict[str, Any]:
    specs = resolve_specs(args.optimizers)
    isas = fo.available_isas() if args.isa == ["all"] else (args.isa or [fo.isa()])
    cases = [(1, n) for n in args.sizes] + args.many
    if OVERHEAD_CASE not in cases:
        cases.append(OVERHEAD_CASE)
    initial_isa = fo.isa()
    results = {"machine": machine_info(isas), "args": {k: v for k, v in vars(args).items()
                                                      if k in ("reps", "sample_ms", "budget_s")},
               "isas": isas, "primary_isa": initial_isa if initial_isa in isas else isas[0],
               "records": []}
    try:
        for dtype_name, case, spec in itertools.product(args.dtype, cases, specs):
            dtype = np.dtype(dtype_name)
            skipped: dict[str, str] = {}
            impls = build_impls(spec, case, dtype, isas, skipped)
            unthreaded: dict[str, dict] = {}
            for threads in args.threads:  # the same arrays for every thread count
                fo.set_num_threads(threads)
                if torch is not None:
                    torch.set_num_threads(threads)
                todo = [im for im in impls if im.threaded or im.name not in unthreaded]
                cpu0 = cpu_seconds()
                stats = measure(todo, args.reps, args.sample_ms / 1e3, args.budget_s)
                others = other_cores(cpu0, cpu_seconds())
                unthreaded.update({im.name: stats[im.name] for im in todo if not im.threaded})
                rec = {"dtype": dtype.name, "threads": threads, "optimizer": spec.name,
                       "options": spec.options, "n_state": spec.n_state,
                       "n_params": case[0], "numel": case[1],
                       "bytes_per_element": (2 * (1 + spec.n_state) + 1) * dtype.itemsize,
                       "impls": {**stats, **unthreaded}, "other_cores": others,
                       "skipped": skipped}
                results["records"].append(rec)
                print(progress_line(rec, results["primary_isa"]), flush=True)
            del impls
            gc.collect()  # 5e7-element copies: free them before the next point
    finally:
        fo.use_isa(initial_isa)
    results["machine"]["loadavg_at_end"] = round(os.getloadavg()[0], 2)
    return results


def cpu_seconds() -> tuple[float, float, float] | None:
    """(wall, CPU seconds used by all processes, by this one), or None off Linux."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    own = os.times()
    busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait (steal counts as busy)
    return time.perf_counter(), busy / os.sysconf("SC_CLK_TCK"), own.user + own.system


def other_cores(t0: tuple | None, t1: tuple | None) -> float | None:
    """Cores kept busy by other processes between two cpu_seconds(): a point measured while
    they competed for the cores (above ~0.2) has unreliable multi-thread numbers."""
    if t0 is None or t1 is None:
        return None
    wall = t1[0] - t0[0]
    return round(max(0.0, ((t1[1] - t0[1]) - (t1[2] - t0[2])) / wall), 2) if wall > 0 else None


def machine_info(isas: list[str]) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:  # the first processor's block of /proc/cpuinfo (Linux)
        with open("/proc/cpuinfo") as f:
            info = dict(line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines()
                        if ":" in line)
        info = {k.strip(): v.strip() for k, v in info.items()}
        simd = [x for x in ("avx512f", "avx2", "neon", "asimd") if x in info["flags"].split()]
        cpu = (f"{info['model name']} (family {info['cpu family']}, model {info['model']}, "
               f"{info.get('cache size', '?')} cache/core, {'/'.join(simd) or 'no avx2'}"
               f"{', virtualized' if 'hypervisor' in info['flags'].split() else ''})")
    except (OSError, KeyError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "isa": fo.isa(), "isas_measured": isas,
            "available_isas": fo.available_isas(), "openmp": fo.has_openmp(),
            "fastoptim": fo.__version__, "numpy": np.__version__,
            "torch": torch.__version__ if torch is not None else None,
            "python": platform.python_version(), "platform": platform.platform(),
            "loadavg_at_start": round(os.getloadavg()[0], 2),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}


# -------------------------------------------------------------------------------- report
def case_label(n_params: int, numel: int) -> str:
    size = f"{numel:.0e}".replace("e+0", "e").replace("e+", "e")
    size = size if float(size) == numel else str(numel)
    return size if n_params == 1 else f"{n_params}x{size}"


def _t(rec: dict, impl: str) -> float | None:
    s = rec["impls"].get(impl)
    return s["median_s"] if s else None


def _elems(rec: dict) -> int:
    return rec["n_params"] * rec["numel"]


def _gbps(rec: dict, t: float | None) -> str:
    return f"{rec['bytes_per_element'] * _elems(rec) / t / 1e9:.1f}" if t else "n/a"


def _ns(rec: dict, t: float | None) -> str:
    return f"{t / _elems(rec) * 1e9:.3f}" if t else "n/a"


def _ratio(num: float | None, den: float | None, fmt: str = "{:.2f}x") -> str:
    return fmt.format(num / den) if num and den else "n/a"


def main_table(records: list[dict], isa: str) -> tuple[list[str], list[list[str]]]:
    head = ["optimizer", "case", "state", "ns/elem", "GB/s", "ceiling GB/s", "of ceiling",
            "vs reference", *(f"vs {n}" for n in TORCH_FLAGS), "other load"]
    rows = []
    for r in records:
        nat, ceiling = _t(r, f"native@{isa}"), _t(r, f"ceiling@{isa}")
        rows.append([r["optimizer"], case_label(r["n_params"], r["numel"]), str(r["n_state"]),
                     _ns(r, nat), _gbps(r, nat), _gbps(r, ceiling),
                     _ratio(ceiling, nat, "{:.0%}"), _ratio(_t(r, "reference"), nat),
                     *(_ratio(_t(r, n), nat) for n in TORCH_FLAGS),
                     str(r.get("other_cores", "n/a"))])
    return head, rows


def isa_table(records: list[dict], isas: list[str]) -> tuple[list[str], list[list[str]]]:
    head = ["optimizer", "case", *(f"{i} ns/elem" for i in isas), f"{isas[0]}/{isas[-1]}"]
    rows = []
    for r in records:
        ts = [_t(r, f"native@{i}") for i in isas]
        rows.append([r["optimizer"], case_label(r["n_params"], r["numel"]),
                     *(_ns(r, t) for t in ts), _ratio(ts[0], ts[-1])])
    return head, rows


def overhead_table(records: list[dict], isa: str) -> tuple[list[str], list[list[str]]]:
    impls = [f"native@{isa}", f"ceiling@{isa}", "reference", *TORCH_FLAGS]
    head = ["optimizer", "threads", *(f"{n} µs" for n in impls), "fused/native"]
    rows = [[r["optimizer"], str(r["threads"]),
             *(f"{t * 1e6:.2f}" if (t := _t(r, n)) else "n/a" for n in impls),
             _ratio(_t(r, "torch_fused"), _t(r, f"native@{isa}"))]
            for r in records if (r["n_params"], r["numel"]) == OVERHEAD_CASE]
    return head, rows


def render(head: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = [head, ["---"] + ["---:"] * (len(head) - 1), *rows]
        return "\n".join("| " + " | ".join(r) + " |" for r in lines)
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    return "\n".join("  ".join(x.rjust(w) for x, w in zip(r, widths)) for r in [head, *rows])


def groups(results: dict) -> list[tuple[str, int, list[dict]]]:
    """Records by (dtype, threads), each sorted by optimizer, then case, in run order."""
    recs = results["records"]
    opts = list(dict.fromkeys(r["optimizer"] for r in recs))
    cases = list(dict.fromkeys((r["n_params"], r["numel"]) for r in recs))
    order = lambda r: (opts.index(r["optimizer"]), cases.index((r["n_params"], r["numel"])))  # noqa: E731
    keys = dict.fromkeys((r["dtype"], r["threads"]) for r in recs)
    return [(d, t, sorted((r for r in recs if (r["dtype"], r["threads"]) == (d, t)), key=order))
            for d, t in keys]


def report(results: dict, markdown: bool) -> str:
    isa, isas = results["primary_isa"], results["isas"]
    h = "### " if markdown else "== "
    out = []
    for dtype, threads, recs in groups(results):
        out += [f"{h}{dtype}, {threads} thread(s), native on {isa}", "",
                render(*main_table(recs, isa), markdown), ""]
    if len(isas) > 1:
        for dtype, threads, recs in groups(results):
            out += [f"{h}Native step by ISA: {dtype}, {threads} thread(s)", "",
                    render(*isa_table(recs, isas), markdown), ""]
    recs = [r for r in results["records"] if r["dtype"] == results["records"][0]["dtype"]]
    out += [f"{h}Per-step time of one {OVERHEAD_CASE[1]}-element param "
            f"({recs[0]['dtype']}, µs per step)", "", render(*overhead_table(recs, isa), markdown),
            ""]
    why_na: dict[tuple[str, str], list[str]] = {}  # (optimizer, reason) -> impls
    for r in results["records"]:
        for impl, why in r["skipped"].items():
            impls = why_na.setdefault((r["optimizer"], why), [])
            impls += [] if impl in impls else [impl]
    out += [f"{'- ' if markdown else ''}{opt}: {', '.join(impls)} n/a ({why})"
            for (opt, why), impls in why_na.items()]
    return "\n".join(out)


def progress_line(rec: dict, isa: str) -> str:
    nat = _t(rec, f"native@{isa}")
    return (f"{rec['dtype']} t={rec['threads']} {rec['optimizer']:>14} "
            f"{case_label(rec['n_params'], rec['numel']):>10}: {_ns(rec, nat)} ns/elem, "
            f"{_ratio(_t(rec, f'ceiling@{isa}'), nat, '{:.0%}')} of ceiling, "
            f"{_ratio(_t(rec, 'reference'), nat)} vs ref, "
            f"{_ratio(_t(rec, 'torch_fused'), nat)} vs torch fused, "
            f"other processes {rec['other_cores']} cores")


README_INTRO = """\
# fastoptim benchmarks

Generated by `python bench/run.py {cmdline}` — rerun it to refresh this file (the numbers
below are from one noisy shared machine; measure on yours).

Other benchmarks, each with its own results file:
[lowp.md](lowp.md) (`bench/lowp.py`: low-precision Adam against float32 and the same-traffic
ceiling), [overhead.md](overhead.md) (`bench/overhead.py`: where a small step's microseconds
go), [torch_models.md](torch_models.md) (`bench/torch_models.py`: `fastoptim.torch.Adam` on
ResNet-18 and transformer param lists against torch's foreach and fused Adam),
[distributed.md](distributed.md) (`bench/distributed.py`: `fastoptim.distributed` at 1, 2 and 4
ranks; the worked model for 100B parameters over 16 nodes at the end of this file).

## What is measured

One optimizer step (params updated in place, grads given) for every optimizer class
fastoptim exports (found at run time, so new optimizers appear without editing the bench),
on one param of each size and on many small params, with:

- **native** — `fastoptim.<Optimizer>.step(grads)`: the whole per-step Python path plus the
  C++ kernel (SIMD path chosen with `fo.use_isa`, threads with `fo.set_num_threads`).
- **ceiling** — `_native.Plan("ceiling", ...)`: a kernel that moves exactly the bytes of the
  optimizer (reads the grad, reads and writes the param and one buffer per state array,
  `x = x + g`) with the same threads. Its speed is what memory allows; **of ceiling** is
  ceiling time / native time. The ceiling skips the optimizer's Python layer, so at small
  sizes this fraction also shows the per-step Python overhead.
- **reference** — `fastoptim.reference.<Optimizer>`: the pure-NumPy reference (same bits);
  NumPy runs it on one thread, so it is measured at the first thread count and reused.
- **torch_loop / torch_foreach / torch_fused** — `torch.optim.<Optimizer>` with
  `foreach=False` (torch's CPU default), `foreach=True` and `fused=True`, on CPU tensors with
  `.grad` preset once and `torch.set_num_threads` equal to fastoptim's threads ("n/a" when
  torch is missing or has no such variant).

Method: for one (optimizer, size, threads) point every implementation is sampled
round-robin (alternating the order each round), so machine noise hits them alike; each
sample repeats the step until it lasts ~{sample_ms:g} ms and the **median** of up to {reps}
samples is reported (at least 3; fewer when a round would exceed {budget_s:g} s / {reps}, i.e. at
the largest sizes). The GC is off inside a sample; everything is warmed up first; the JSON
also keeps the fastest sample. Bytes per element = (2 × (1 + state arrays) + 1) × itemsize,
e.g. 28 B for fp32 Adam (param, exp_avg, exp_avg_sq read and written, grad read). ns/elem and
GB/s are native's; "vs X" columns are X's time / native time (higher means fastoptim is
faster); "state" is the number of state arrays per param. Steps below 2 × 32768 elements run
on one thread whatever the thread setting.

**Grain size** (elements per thread below which no thread starts, 32768): chosen with
`python bench/grain.py --markdown bench/grain.md`, which times SGD and Adam steps of 2k..1M
elements on one thread and on all threads with splitting forced; see [grain.md](grain.md).
On this 2-core VM a second thread pays off from 64k elements per step for Adam (1.3x) and
from 64k-128k for SGD (1.2x; SGD does less work per byte); below that it is 0.6-0.9x in some
runs and within noise in others, and a descheduled thread stalls the whole step at its barrier
on a busy machine. So steps split only from 2 × 32768 = 65536 elements.

**Thread scaling on a bigger CPU** (1, 2, 4, 8, 16 threads): not measured — no machine with
more cores was lent to this task; `python bench/run.py --threads 1,2,4,8,16` on one records it.

**other load** is the number of cores other processes kept busy while the row was measured
(from /proc/stat). When it is well above 0 and every core is asked for, each multi-threaded
step (fastoptim's and torch's alike) waits at its barrier for a descheduled thread: such
rows measure the scheduler (milliseconds per step where one thread takes microseconds), not
the code. Trust the 1-thread tables, and multi-thread rows with other load near 0.

## Machine

{machine}

## Results

"""


def readme(results: dict, cmdline: str) -> str:
    m = results["machine"]
    machine = "\n".join(f"- {k}: {v}" for k, v in [
        ("CPU", m["cpu"]), ("cores (os.cpu_count)", m["cores"]),
        ("ISA of the main tables", results["primary_isa"]),
        ("ISAs available", ", ".join(m["available_isas"])), ("OpenMP", m["openmp"]),
        ("fastoptim", m["fastoptim"]), ("numpy", m["numpy"]), ("torch", m["torch"] or "n/a"),
        ("Python", m["python"]), ("platform", m["platform"]), ("date", m["date"]),
        ("run time", f"{results.get('wall_s', '?')} s"),
        ("load average (1 min) at start / end",
         f"{m.get('loadavg_at_start', '?')} / {m.get('loadavg_at_end', '?')}")])
    from distributed import worked_model  # bench/distributed.py: a computation, no MPI

    return README_INTRO.format(cmdline=cmdline, machine=machine, **results["args"]) + \
        report(results, markdown=True) + "\n\n" + worked_model() + "\n"


def plot(results: dict, path: Path) -> None:
    import matplotlib  # only here: the bench runs without matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    isa = results["primary_isa"]
    single = [r for r in results["records"] if r["n_params"] == 1]
    names = list(dict.fromkeys(r["optimizer"] for r in single))
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.6 * rows), squeeze=False,
                             sharex=True, sharey=True)
    axes = axes.ravel()
    impl_names = [f"native@{isa}", f"ceiling@{isa}", "reference", *TORCH_FLAGS]
    for ax, name in zip(axes, names):
        for (dtype, threads), style in zip(dict.fromkeys((r["dtype"], r["threads"])
                                                         for r in single), ["-", "--", ":", "-."]):
            recs = sorted((r for r in single if r["optimizer"] == name and r["dtype"] == dtype
                           and r["threads"] == threads), key=lambda r: r["numel"])
            for k, impl in enumerate(impl_names):
                pts = [(r["numel"], r["bytes_per_element"] * r["numel"] / t / 1e9)
                       for r in recs if (t := _t(r, impl))]
                if pts:
                    ax.plot(*zip(*pts), style, marker="o", ms=3, color=f"C{k}",
                            label=f"{impl} {dtype} t={threads}")
        ax.set(xscale="log", yscale="log", xlabel="elements", title=name)
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel("GB/s (optimizer bytes / step)")
    axes[0].legend(fontsize=5)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


# ----------------------------------------------------------------------------------- CLI
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    csv = lambda f: lambda s: [f(x) for x in s.split(",") if x]  # noqa: E731
    size = lambda s: int(float(s))  # noqa: E731
    many = lambda s: (int(s.split("x")[0]), size(s.split("x")[1]))  # noqa: E731
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--optimizers", type=csv(str), default=None,
                   help=f"comma list of optimizer names (lower-case class names or "
                        f"{', '.join(VARIANTS)}); default: every class fastoptim exports "
                        f"whose state fits the ceiling, plus {', '.join(DEFAULT_VARIANTS)}")
    p.add_argument("--sizes", type=csv(size), default=None,
                   help="elements of the single param (default 1e3,1e4,1e5,1e6,1e7,5e7)")
    p.add_argument("--many", type=csv(many), default=[(1000, 1000), (10000, 100)],
                   help="many-small cases COUNTxSIZE (default 1000x1e3,10000x100; '' for none)")
    p.add_argument("--threads", type=csv(int), default=sorted({1, os.cpu_count() or 1}),
                   help=f"thread counts (default 1,{os.cpu_count()})")
    p.add_argument("--isa", type=csv(str), default=None,
                   help="ISA path(s) of the native step: 'all' or a comma list "
                        f"(default: the active one, {fo.isa()})")
    p.add_argument("--dtype", type=csv(str), default=["float32"], help="float32 and/or float64")
    p.add_argument("--reps", type=int, default=None, help="samples per impl (default 5)")
    p.add_argument("--sample-ms", type=float, default=None, help="length of a sample (default 5)")
    p.add_argument("--budget-s", type=float, default=None,
                   help="cap on the time of one point's samples (default 3)")
    p.add_argument("--quick", action="store_true",
                   help="sizes 1e3,1e5,1e7, 3 samples of 3 ms, budget 2 s")
    p.add_argument("--json", type=Path, default=HERE / "results" / "latest.json",
                   help="where to write the raw results (default bench/results/latest.json)")
    p.add_argument("--load", type=Path, help="report a saved JSON instead of measuring")
    p.add_argument("--plot", type=Path, help="write a PNG of GB/s vs size (needs matplotlib)")
    p.add_argument("--readme", "--markdown", nargs="?", const=HERE / "README.md", type=Path,
                   help="write the markdown report (default path bench/README.md)")
    args = p.parse_args(argv)
    quick = dict(sizes=[1000, 100_000, 10_000_000], reps=3, sample_ms=3.0, budget_s=2.0)
    full = dict(sizes=[10**k for k in range(3, 8)] + [50_000_000], reps=5, sample_ms=5.0,
                budget_s=3.0)
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.load:
        results = json.loads(args.load.read_text())
    else:
        t0 = time.perf_counter()
        results = run(args)
        results["wall_s"] = round(time.perf_counter() - t0, 1)
        results["cmdline"] = " ".join(sys.argv[1:] if argv is None else argv)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
        print(f"\n{results['wall_s']} s; wrote {args.json}\n")
    print(report(results, markdown=False))
    if args.readme:
        args.readme.write_text(readme(results, results.get("cmdline", "")))
        print(f"wrote {args.readme}")
    if args.plot:
        plot(results, args.plot)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
