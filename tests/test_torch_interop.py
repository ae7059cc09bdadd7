"""fastoptim.torch (drop-in torch.optim optimizers) and zero-copy grads from any CPU array."""

from __future__ import annotations

import array
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastoptim as fo

torch = pytest.importorskip("torch")
import fastoptim.torch as fot  # noqa: E402

# float64, 50 steps: torch and fastoptim differ only in operation order inside a few formulas
# (~1 ulp per step, see test_torch_parity.py): measured <= 5e-15 absolute on O(1) params; a
# wrong formula, a skipped or doubled step, or a lost option change is off by > 1e-6.
RTOL = 1e-12
ATOL = 1e-13


def _mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(),
                               torch.nn.Linear(16, 3)).double()


def _data(seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(64, 8, dtype=torch.float64, generator=g), torch.randint(
        0, 3, (64,), generator=g)


def _train(make_opt, steps=50, make_sched=None, freeze=None, plateau=False):
    model = _mlp()
    X, y = _data()
    if freeze is not None:
        for i, p in enumerate(model.parameters()):
            p.requires_grad_(i not in freeze)
    opt = make_opt([p for p in model.parameters()])
    sched = make_sched(opt) if make_sched else None
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt.step()
            if sched is not None:
                sched.step(loss.item()) if plateau else sched.step()
        losses.append(loss.item())
    return np.array(losses), [p.detach().clone() for p in model.parameters()], opt


def _same(a, b):
    la, pa, _ = a
    lb, pb, _ = b
    np.testing.assert_allclose(la, lb, rtol=RTOL, atol=ATOL)
    for x, y in zip(pa, pb):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=RTOL, atol=ATOL)


CASES = [("Adam", dict(lr=1e-2)), ("Adam", dict(lr=1e-2, weight_decay=0.01, amsgrad=True)),
         ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)), ("AdamW", dict(lr=1e-2)),
         ("RMSprop", dict(lr=1e-2, momentum=0.5, centered=True)), ("Adagrad", dict(lr=0.1)),
         ("NAdam", dict(lr=1e-2)), ("RAdam", dict(lr=1e-2)), ("Adamax", dict(lr=1e-2)),
         ("Adadelta", dict(lr=1.0))]


@pytest.mark.parametrize("name, kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_mlp_matches_torch(name, kw):
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # torch's step counts and NAdam's mu_product
    try:
        ours = _train(lambda ps: getattr(fot, name)(ps, **kw))
        theirs = _train(lambda ps: getattr(torch.optim, name)(ps, **kw))
    finally:
        torch.set_default_dtype(before)
    _same(ours, theirs)
    assert isinstance(ours[2], torch.optim.Optimizer)


@pytest.mark.parametrize("sched", ["StepLR", "OneCycleLR", "ReduceLROnPlateau"])
def test_torch_schedulers_drive_fastoptim(sched):
    S = torch.optim.lr_scheduler
    make = {"StepLR": lambda o: S.StepLR(o, step_size=10, gamma=0.5),
            "OneCycleLR": lambda o: S.OneCycleLR(o, max_lr=3e-2, total_steps=60),
            "ReduceLROnPlateau": lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=1)}[sched]
    ours = _train(lambda ps: fot.Adam(ps, lr=1e-2), make_sched=make,
                  plateau=sched == "ReduceLROnPlateau")
    theirs = _train(lambda ps: torch.optim.Adam(ps, lr=1e-2), make_sched=make,
                    plateau=sched == "ReduceLROnPlateau")
    _same(ours, theirs)
    assert ours[2].param_groups[0]["lr"] == theirs[2].param_groups[0]["lr"]


def test_frozen_params_are_skipped_as_torch_does():
    ours = _train(lambda ps: fot.Adam(ps, lr=1e-2), freeze={0})
    theirs = _train(lambda ps: torch.optim.Adam(ps, lr=1e-2), freeze={0})
    _same(ours, theirs)
    assert torch.equal(ours[1][0], _mlp().state_dict()["0.weight"])  # never moved
    assert next(iter(_mlp().parameters())) not in ours[2].state


@pytest.mark.parametrize("direction", ["torch->fastoptim", "fastoptim->torch"])
def test_state_dict_moves_both_ways_and_training_continues(direction):
    def run(first, second):
        model = _mlp()
        X, y = _data()
        ps = list(model.parameters())
        opt = first(ps)
        for _ in range(10):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X), y).backward()
            opt.step()
        sd = opt.state_dict()
        opt2 = second(ps)
        opt2.load_state_dict(sd)
        for _ in range(10):
            opt2.zero_grad()
            torch.nn.functional.cross_entropy(model(X), y).backward()
            opt2.step()
        return [p.detach().clone() for p in ps], opt2

    ours_cls = lambda ps: fot.Adam(ps, lr=1e-2, amsgrad=True)  # noqa: E731
    torch_cls = lambda ps: torch.optim.Adam(ps, lr=1e-2, amsgrad=True)  # noqa: E731
    pair = (torch_cls, ours_cls) if direction == "torch->fastoptim" else (ours_cls, torch_cls)
    got, opt2 = run(*pair)
    want, _ = run(torch_cls, torch_cls)
    for x, y in zip(got, want):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=RTOL, atol=ATOL)
    p0 = next(iter(opt2.state))
    assert float(opt2.state[p0]["step"]) == 20


def test_closure_hooks_version_counter_and_add_param_group():
    model = _mlp()
    X, y = _data()
    opt = fot.SGD(model.parameters(), lr=0.1, momentum=0.9)
    calls = []
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append("post"))

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        return loss

    p = next(iter(model.parameters()))
    v = p._version
    loss = opt.step(closure)
    assert isinstance(loss, torch.Tensor) and calls == ["post"]
    assert p._version > v  # autograd sees the in-place update
    extra = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    opt.add_param_group({"params": [extra], "lr": 1.0})
    closure()  # zero_grad + backward: the new param has no grad from the model
    extra.grad = torch.ones(5, dtype=torch.float64)
    opt.step()
    assert torch.equal(extra.detach(), torch.full((5,), -1.0, dtype=torch.float64))


def test_step_hooks_args_profiler_and_versions_as_torch():
    # torch's step wrapper is replaced by fastoptim's own (no record_function while the
    # profiler is off): the hooks must still see what torch's would, in torch's order
    import torch.optim.optimizer as topt

    a, b = (torch.ones(3, requires_grad=True) for _ in range(2))
    opt = fot.SGD([a, b], lr=0.5)
    seen = []
    swapped = []

    def swap(o, args, kwargs):  # a pre-hook may replace the arguments
        seen.append(("pre", o is opt, len(args), dict(kwargs)))
        return (args[0],), {"closure": lambda: swapped.append(1) or torch.tensor(7.0)}

    handles = [topt.register_optimizer_step_pre_hook(
                   lambda o, args, kwargs: seen.append(("global pre", o is opt))),
               opt.register_step_pre_hook(swap),
               opt.register_step_post_hook(
                   lambda o, args, kwargs: seen.append(("post", "closure" in kwargs))),
               topt.register_optimizer_step_post_hook(
                   lambda o, args, kwargs: seen.append(("global post",)))]
    try:
        a.grad = torch.ones(3)  # b has no grad: skipped, its version unchanged
        va, vb = a._version, b._version
        loss = opt.step()
        assert float(loss) == 7.0 and swapped == [1]
        assert seen == [("global pre", True), ("pre", True, 1, {}), ("post", True),
                        ("global post",)]
        assert a._version > va and b._version == vb
        assert torch.equal(a.detach(), torch.full((3,), 0.5)) and torch.equal(b.detach(),
                                                                             torch.ones(3))
    finally:
        for h in handles:
            h.remove()
    with torch.profiler.profile() as prof:
        opt.step()
    assert any(e.name == "Optimizer.step#SGD.step" for e in prof.events())
    with pytest.raises(TypeError):
        opt.step(None, None)  # step(closure=None) takes one argument, as torch's


def test_bfloat16_params_with_master_step_as_the_numpy_api():
    # bfloat16 grads take _grads' fallback (Tensor.numpy() refuses bfloat16): a grad list with
    # one None and one bfloat16 grad must step exactly as fastoptim's NumPy API does
    pytest.importorskip("ml_dtypes")
    torch.manual_seed(0)
    ps = [torch.randn(8, dtype=torch.bfloat16, requires_grad=True) for _ in range(2)]
    arrays = [fot._view(p, "p").copy() for p in ps]
    grads = [torch.randn(8, dtype=torch.bfloat16) * 0.1 for _ in range(2)]
    opt = fot.Adam(ps, lr=0.01, master_weights=True)
    ref = fo.Adam(arrays, lr=0.01, master_weights=True)
    for k in range(3):
        ps[0].grad = grads[0] if k != 1 else None
        ps[1].grad = grads[1]
        opt.step()
        ref.step([fot._view(g, "g") if k != 1 or i else None for i, g in enumerate(grads)])
        for p, a in zip(ps, arrays):
            assert np.array_equal(fot._view(p, "p").view(np.uint16), a.view(np.uint16))


def test_options_changed_in_place_apply():
    # an unchanged group is skipped by identity of its values, so options that change in place
    # (a tensor lr filled by a scheduler, a list of betas) must still be seen
    p = torch.ones(4, requires_grad=True)
    opt = fot.Adam([p], lr=torch.tensor(0.1), betas=[0.9, 0.999])
    p.grad = torch.ones(4)
    opt.step()
    before = p.detach().clone()
    opt.param_groups[0]["lr"].fill_(0.0)
    opt.step()
    assert torch.equal(p.detach(), before)  # lr 0: no change
    opt.param_groups[0]["lr"].fill_(0.1)
    opt.param_groups[0]["betas"][0] = 0.0
    opt.step()
    assert opt._fo.param_groups[0]["betas"] == (0.0, 0.999)
    assert opt._fo.param_groups[0]["lr"] == pytest.approx(0.1)


def test_errors_name_the_param_and_change_nothing():
    with pytest.raises(ValueError, match="not contiguous"):
        fot.Adam([torch.zeros(4, 4).t().requires_grad_()])
    with pytest.raises(ValueError, match="meta"):
        fot.Adam([torch.zeros(3, device="meta")])
    with pytest.raises(TypeError, match="int64"):
        fot.Adam([torch.zeros(3, dtype=torch.int64)])
    with pytest.raises(ValueError, match="capturable"):
        fot.Adam([torch.zeros(3, requires_grad=True)], capturable=True)
    a = torch.ones(3, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    opt = fot.Adam([a, b], lr=0.1)
    a.grad = torch.ones(3)
    b.grad_dtype = None  # torch >= 2.10 refuses a grad of another dtype unless asked
    b.grad = torch.ones(3, dtype=torch.float64)  # another dtype: refused, a unchanged too
    with pytest.raises(TypeError, match="param params\\[1\\]"):
        opt.step()
    assert torch.equal(a.detach(), torch.ones(3)) and len(opt.state) == 0
    b.grad = torch.sparse_coo_tensor([[0]], [1.0], (3,), check_invariants=True)
    with pytest.raises(TypeError, match="sparse"):
        opt.step()
    assert torch.equal(a.detach(), torch.ones(3))


def test_fastoptim_torch_needs_torch_and_fastoptim_does_not_import_it():
    code = ("import sys; import fastoptim; assert 'torch' not in sys.modules\n"
            "sys.modules['torch'] = None\n"
            "try:\n    import fastoptim.torch\nexcept ImportError as e:\n"
            "    assert 'pip install torch' in str(e), e; print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


# ---------------------------------------------------------- any CPU array as a NumPy grad
def test_grads_from_dlpack_and_buffer_objects_without_a_copy():
    p, ref = np.zeros(4, np.float32), np.zeros(4, np.float32)
    opt, ropt = fo.Adam([p], lr=0.1), fo.Adam([ref], lr=0.1)
    g = np.arange(4, dtype=np.float32)
    readonly = g.copy()
    readonly.flags.writeable = False
    for obj in (torch.from_numpy(g.copy()), array.array("f", g.tolist()), memoryview(g.copy()),
                readonly):
        opt.step([obj])
        ropt.step([g])
        assert np.array_equal(p, ref), type(obj)
    assert np.isclose(fo.grad_norm([torch.from_numpy(g)]), np.linalg.norm(g))
    with pytest.raises(ValueError, match="grad of param params\\[0\\].*__dlpack__"):
        opt.step([torch.ones(4, requires_grad=True)])
    with pytest.raises(ValueError, match="meta"):
        opt.step([torch.ones(4, device="meta")])
    with pytest.raises(TypeError, match="expected a numpy.ndarray"):
        opt.step([[1.0, 2.0, 3.0, 4.0]])
    assert np.array_equal(p, ref)


def test_params_are_never_converted():
    with pytest.raises(TypeError, match="never converted"):
        fo.Adam([torch.zeros(3)])


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
@pytest.mark.parametrize("name, kw", [("Adam", dict(lr=1e-2, amsgrad=True)),
                                      ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                      ("NAdam", dict(lr=1e-2))])
def test_copies_and_pickles_continue_bit_for_bit_and_leave_the_original(name, kw, how):
    import copy
    import pickle

    X, y = _data()

    def steps(model, opt, n):
        for _ in range(n):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X), y).backward()
            opt.step()

    model = _mlp()
    opt = getattr(fot, name)(model.parameters(), **kw)
    steps(model, opt, 3)
    # the model and its optimizer copied together (torch's way), so they stay one
    both = {"model": model, "opt": opt}
    twin = copy.deepcopy(both) if how == "deepcopy" else pickle.loads(pickle.dumps(both))
    m2, o2 = twin["model"], twin["opt"]
    assert isinstance(o2, getattr(fot, name))
    before = [p.detach().clone() for p in model.parameters()]
    steps(m2, o2, 4)
    for p, b in zip(model.parameters(), before):  # the original is untouched
        assert torch.equal(p, b)
    steps(model, opt, 4)
    for a, b in zip(model.parameters(), m2.parameters()):
        assert torch.equal(a, b)
    assert o2.state_dict()["state"].keys() == opt.state_dict()["state"].keys()
    for p in m2.parameters():  # the copy's state is keyed by its own tensors
        assert o2.state[p]["step"] == 7
