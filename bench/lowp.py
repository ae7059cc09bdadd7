"""Low-precision Adam steps against float32 Adam and the same-traffic memory ceiling.

    python bench/lowp.py [--sizes 3e4,1e7,5e7] [--threads 1,2] [--markdown bench/lowp.md]
    (optional rows: pip install torch, and pip install deepspeed)

For each storage configuration (params, grads, state; issue 11) one ``fo.Adam`` step on one
param is timed with run.py's method (round-robin samples, median), in the same run as:

- **fp32 Adam**: the float32 step; "vs fp32" is its time / the configuration's time.
- **ceiling**: ``_native.Plan("ceiling")`` with float32 buffers timed in the same run gives
  this machine's bandwidth for the step's access pattern (28 bytes per element: read and
  write param and 2 state arrays, read the grad); a configuration's ceiling is the time its
  own bytes take at that bandwidth, and "of ceiling" is ceiling time / measured time.
- **bound vs fp32**: 28 / the configuration's bytes per element, the ratio over fp32 Adam
  where both run at the memory ceiling (a bandwidth-bound many-core server; issue 11).
- The smallest default size (3e4 elements, all buffers in L2) shows each configuration's
  arithmetic: ns/elem there is the cost of the conversions on top of Adam's own.

Bytes per element count what the step reads and writes: params, masters (read and written),
grads (read), state (read and written; int8 codes plus one float32 scale per 256). "state
B/param" is ``opt.state_nbytes() / n`` (masters included).

Where torch is installed, ``torch.optim.Adam`` on bfloat16 tensors runs in the same run
(foreach and fused; torch keeps bfloat16 state for bfloat16 params and has no float32 master
option, so its traffic is that of "pure bf16, bf16 state": 14 bytes per element), with
``torch.set_num_threads`` equal to fastoptim's threads. Where DeepSpeed is installed (a bench
extra only: its CPU Adam is compiled at run time on first use, outside the timing), its
``DeepSpeedCPUAdam`` (the ZeRO-Offload optimizer) runs on float32 params and on bfloat16
params with float32 state (DeepSpeed 0.19 updates the bfloat16 param itself, with no float32
master: the traffic of "pure bf16", 22 bytes per element); its OpenMP threads are set with
``torch.set_num_threads`` as torch's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import fastoptim as fo
from fastoptim import _native

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import Impl, machine_info, measure

try:  # optional: the torch rows
    import torch
except ImportError:
    torch = None
try:  # optional: the DeepSpeed rows
    from deepspeed.ops.adam import DeepSpeedCPUAdam
except Exception:  # not installed, or it cannot load here
    DeepSpeedCPUAdam = None

BF16 = fo.lowp.bfloat16()
F32 = np.dtype(np.float32)
Q8 = 1 + 4 / 256  # bytes per element of int8 state

#: label, param dtype, grad dtype, options, bytes moved per element
CONFIGS = [
    ("fp32", F32, F32, {}, 4 + 4 + 4 + 2 * 8),
    ("bf16 state", F32, F32, {"state_dtype": "bfloat16"}, 8 + 4 + 2 * 4),
    ("int8 state", F32, F32, {"state_dtype": "int8"}, 8 + 4 + 2 * 2 * Q8),
    ("int8 state, stochastic", F32, F32, {"state_dtype": "int8", "rounding": "stochastic"},
     8 + 4 + 2 * 2 * Q8),
    # param written (2), master read and written (8), grad read
    ("bf16 + master, bf16 grads", BF16, BF16, {"master_weights": True}, 2 + 8 + 2 + 16),
    ("bf16 + master, int8 state", BF16, BF16, {"master_weights": True, "state_dtype": "int8"},
     2 + 8 + 2 + 2 * 2 * Q8),
    ("pure bf16", BF16, BF16, {}, 4 + 2 + 16),
    ("pure bf16, bf16 state", BF16, BF16, {"state_dtype": "bfloat16"}, 4 + 2 + 8),
]

#: torch.optim.Adam on bfloat16 tensors: label, flags, bytes moved per element
TORCH_CONFIGS = [
    ("torch Adam bf16, foreach", {"foreach": True}, 4 + 2 + 8),
    ("torch Adam bf16, fused", {"fused": True}, 4 + 2 + 8),
]


#: DeepSpeedCPUAdam: label, param (and grad) dtype name, bytes moved per element
DEEPSPEED_CONFIGS = [
    ("DeepSpeed CPUAdam fp32", "float32", 4 + 4 + 4 + 2 * 8),
    ("DeepSpeed CPUAdam bf16 params, fp32 state", "bfloat16", 4 + 2 + 16),
]


def torch_tensor_step(base: np.ndarray, g32: np.ndarray, flags: dict,
                    dtype: str = "bfloat16", cls=None):
    """``cls`` (torch.optim.Adam by default) on one tensor of ``dtype`` with its grad preset;
    state created outside the timing. Returns (step, state bytes per param)."""
    dt = getattr(torch, dtype)
    p = torch.from_numpy(base).to(dt).requires_grad_()
    p.grad = torch.from_numpy(g32).to(dt)
    opt = (cls or torch.optim.Adam)([p], lr=1e-3, **flags)
    opt.step()  # raises here if this torch lacks the variant
    nbytes = sum(t.numel() * t.element_size() for st in opt.state.values()
                 for t in st.values() if torch.is_tensor(t) and t.numel() > 1)
    return opt.step, nbytes / base.size

CEILING_BYTES = 28  # the ceiling plan below: param + 2 states read and written, grad read


def run(sizes: list[int], threads: list[int], reps: int, sample_s: float) -> list[dict]:
    rng = np.random.default_rng(0)
    records = []
    for n in sizes:
        base = rng.standard_normal(n, dtype=np.float32)
        g32 = rng.standard_normal(n, dtype=np.float32) * np.float32(1e-2)
        impls, info = [], {}
        for label, pdt, gdt, options, nbytes in CONFIGS:
            p, g = [base.astype(pdt)], [g32.astype(gdt)]
            opt = fo.Adam(p, lr=1e-3, **options)
            opt.step(g)  # state created outside the timing
            impls.append(Impl(label, lambda opt=opt, g=g: opt.step(g)))
            info[label] = (nbytes, opt.state_nbytes() / n)
        rows = [(label, nbytes) for label, *_, nbytes in CONFIGS]
        others = [(label, flags, "bfloat16", None, nbytes) for label, flags, nbytes in
                  (TORCH_CONFIGS if torch is not None else [])]
        others += [(label, {}, dtype, DeepSpeedCPUAdam, nbytes) for label, dtype, nbytes in
                   (DEEPSPEED_CONFIGS if DeepSpeedCPUAdam is not None else [])]
        for label, flags, dtype, cls, nbytes in others:
            try:
                step, state = torch_tensor_step(base, g32, flags, dtype, cls)
            except Exception as e:  # this torch cannot run the variant: no row
                print(f"{label}: skipped ({type(e).__name__}: {e})", flush=True)
                continue
            impls.append(Impl(label, step))
            info[label] = (nbytes, state)
            rows.append((label, nbytes))
        xs = [[base.copy()] for _ in range(3)]
        plan = _native.Plan("ceiling", xs[0], {"s1": xs[1], "s2": xs[2]}, ["0"])
        plan_rows = np.zeros(1, np.int64)
        impls.append(Impl("ceiling", lambda plan=plan, g=g32, r=plan_rows: plan.step([g], [()], r)))
        for t in threads:
            fo.set_num_threads(t)
            if torch is not None:
                torch.set_num_threads(t)
            res = measure(impls, reps, sample_s, budget_s=60.0)
            bandwidth = CEILING_BYTES * n / res["ceiling"]["median_s"]
            fp32 = res["fp32"]["median_s"]
            for label, _ in rows:
                s = res[label]["median_s"]
                nbytes, state = info[label]
                records.append({"n": n, "threads": t, "config": label, "seconds": s,
                                "bytes_per_elem": nbytes, "state_bytes_per_param": state,
                                "vs_fp32": fp32 / s, "ceiling_s": nbytes * n / bandwidth,
                                "of_ceiling": nbytes * n / bandwidth / s,
                                "bandwidth_gbs": bandwidth / 1e9})
                print(f"{n:.0e} x{t} {label:<42} {s * 1e3:7.2f} ms  {fp32 / s:5.2f}x fp32  "
                      f"{records[-1]['of_ceiling']:4.0%} of ceiling", flush=True)
        del impls, plan, xs
    return records


def _deepspeed_version() -> str:
    if DeepSpeedCPUAdam is None:
        return "not installed"
    import deepspeed
    return deepspeed.__version__


def markdown(records: list[dict], machine: dict, cmdline: str) -> str:
    out = ["# Low-precision Adam: speed and bytes", "",
           f"Generated by `{cmdline}` (see the docstring of bench/lowp.py for the method).", "",
           f"- CPU: {machine['cpu']}; cores: {machine['cores']}; ISA: {machine['isa']}",
           f"- torch: {torch.__version__ if torch is not None else 'not installed'}; "
           f"DeepSpeed: {_deepspeed_version()}", ""]
    for (n, t) in sorted({(r["n"], r["threads"]) for r in records}):
        rows = [r for r in records if r["n"] == n and r["threads"] == t]
        out += [f"## {n:.0e} elements, {t} thread(s) (ceiling bandwidth "
                f"{rows[0]['bandwidth_gbs']:.1f} GB/s)", "",
                "| configuration | moved B/elem | state B/param | ms/step | ns/elem | vs fp32 | "
                "of ceiling | bound vs fp32 |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in rows:
            out.append(f"| {r['config']} | {r['bytes_per_elem']:.2f} | "
                       f"{r['state_bytes_per_param']:.2f} | {r['seconds'] * 1e3:.3g} | "
                       f"{r['seconds'] / r['n'] * 1e9:.2f} | "
                       f"{r['vs_fp32']:.2f}x | {r['of_ceiling']:.0%} | "
                       f"{CONFIGS[0][4] / r['bytes_per_elem']:.2f}x |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="3e4,1e7,5e7")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--sample-s", type=float, default=0.2)
    ap.add_argument("--markdown", type=Path, help="write the tables to this file")
    args = ap.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    records = run(sizes, threads, args.reps, args.sample_s)
    if args.markdown:
        cmd = "python bench/lowp.py " + " ".join(argv if argv is not None else sys.argv[1:])
        args.markdown.write_text(markdown(records, machine_info([fo.isa()]), cmd.strip()) + "\n")


if __name__ == "__main__":
    main()
