"""train_batched(specs, runs_dir): K runs of one shape trained as one stacked model, one step for all K.

    from scalinglaws.training.batched import train_batched
    run_dirs = train_batched([spec_lr1, spec_lr2, spec_lr3], "runs/demo")   # three run folders

Why: a tiny model's step is a few hundred short kernels, so on a GPU (and on a CPU, for the smallest
models, in part) it is bound by launch and dispatch overhead, not FLOPs. Stacking K same-shape runs
gives every weight a leading run dimension, and ``torch.func.vmap`` over ``functional_call`` of the
same ``transformers`` GPT-2 block stack runs all K forward and backward passes as one set of batched
kernels. What it gains is measured, not assumed: ``benchmarks/bench_batched.py`` (results in
``benchmarks/results/batched_*.json``), and ``auto_group_size`` uses it only where it measured a gain.

Each member stays its own run: its own init (the same build_model(seed=...) as train_run), data order,
LR schedule, gradient clipping and AdamW step (the optimizer below is torch's AdamW, written for stacked
weights with one LR and one step count per run), divergence check, evals, early stopping, run folder
(config.json, metrics.jsonl, summary.json, sidecars, weights, then DONE) and content address. A member
that diverges or stops early is finished and dropped from the stack; its siblings go on. Checkpoints
are each member's own ckpt.pt in train_run's format, so a killed group resumes every member (as a
group, or one at a time: either path reads the other's checkpoints).

Numerics: the same math as train_run, in a different rounding order (batched kernels, and dropout masks
drawn for the stack), so not bit-identical; config.json records ``"execution": {"mode": "batched", ...}``
(absent for runs trained one at a time). Same-shape means equal ``batch_key``: shape, batch, context,
vocabulary, corpus, precision, kernels, dropout. Not batched (trained by train_run): LSTMs, compiled
steps, the gradient-noise measurement, and kernels="reference".
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from pathlib import Path

import torch

from scalinglaws.data.paths import file_lock
from scalinglaws.data.tokens import prepare_tokens
from scalinglaws.data.windows import batch_starts, gather_windows
from scalinglaws.training.evaluate import EvalSets
from scalinglaws.training.grouping import batch_key
from scalinglaws.training.loop import finish_run, save_checkpoint, start_or_resume, write_config
from scalinglaws.training.loss import linear_cross_entropy
from scalinglaws.training.model import trunk
from scalinglaws.training.run_folder import is_done, refuse_links
from scalinglaws.training.schedule import eval_steps, get_lr
from scalinglaws.training.spec import RunSpec
from scalinglaws.training.trainer import (
    DIVERGE_MARGIN_NATS,
    Log,
    RunError,
    check_data,
    diverged_train,
    eval_point,
    resolve_device,
    tune_allocator,
)

# ---------------------------------------------------------------------------------------------
# The stacked model and its optimizer
# ---------------------------------------------------------------------------------------------

class Stack:
    """The active members' weights stacked along a leading run dimension, with their AdamW state."""

    def __init__(self, members: list["_Member"]):
        self.members = members
        self.template = trunk(members[0].tr.model)  # its structure (not its weights) is what vmap calls
        names = [n for n, _ in self.template.named_parameters()]
        self.names = names
        # decayed: matrices, not biases, layer norms or embeddings (as train.make_optimizer)
        self.decay = {n: p.dim() >= 2 and "wte" not in n and "wpe" not in n for n, p in self.template.named_parameters()}
        per = [dict(trunk(m.tr.model).named_parameters()) for m in members]
        self.params = {n: torch.stack([d[n].detach() for d in per]).requires_grad_() for n in names}
        self.exp_avg, self.exp_avg_sq = {}, {}
        for n in names:
            states = [m.tr.opt.state.get(d[n], {}) for m, d in zip(members, per)]
            self.exp_avg[n] = torch.stack([s["exp_avg"] if "exp_avg" in s else torch.zeros_like(d[n]) for s, d in zip(states, per)])
            self.exp_avg_sq[n] = torch.stack([s["exp_avg_sq"] if "exp_avg_sq" in s else torch.zeros_like(d[n]) for s, d in zip(states, per)])
        # AdamW steps taken so far per member (its bias correction), from its resumed optimizer state
        self.adam_steps = [int(float(next(iter(m.tr.opt.state.values()), {}).get("step", 0))) for m in members]

    def keep(self, idx: list[int]) -> None:
        """Drop every member not in idx (finished ones) from the stack."""
        sel = torch.tensor(idx, dtype=torch.long)
        self.members = [self.members[i] for i in idx]
        self.adam_steps = [self.adam_steps[i] for i in idx]
        for n in self.names:
            self.params[n] = self.params[n].detach().index_select(0, sel).requires_grad_()
            self.exp_avg[n] = self.exp_avg[n].index_select(0, sel)
            self.exp_avg_sq[n] = self.exp_avg_sq[n].index_select(0, sel)

    def export(self, i: int) -> None:
        """Copy member i's weights and AdamW state into its own model and torch optimizer (for evals,
        checkpoints and the final weights: everything train_run's helpers read)."""
        m = self.members[i]
        own = dict(trunk(m.tr.model).named_parameters())
        with torch.no_grad():
            for n in self.names:
                own[n].copy_(self.params[n][i])
                m.tr.opt.state[own[n]] = {"step": torch.tensor(float(self.adam_steps[i])),
                                          "exp_avg": self.exp_avg[n][i].clone(),
                                          "exp_avg_sq": self.exp_avg_sq[n][i].clone()}

    def losses(self, windows: torch.Tensor, autocast, head_dtype) -> torch.Tensor:
        """(K,) mean next-token losses of windows (K, B, n_ctx + 1), one per member, with the graph."""
        x, y = windows[:, :, :-1], windows[:, :, 1:]

        def hidden(params, ids):
            return torch.func.functional_call(self.template, params, (), {"input_ids": ids}).last_hidden_state

        with autocast, warnings.catch_warnings():
            # torch has no vmap rule for CPU flash attention yet and loops over the stack there (it says
            # so once per process); measured, and still the faster attention under vmap here
            warnings.filterwarnings("ignore", message=".*batching rule.*")
            h = torch.func.vmap(hidden, randomness="different")(self.params, x)
        wte = self.params["wte.weight"]  # the tied output head
        return torch.stack([linear_cross_entropy(h[k], wte[k], y[k], dtype=head_dtype) for k in range(len(x))])

    def step(self, windows: torch.Tensor, lrs: list[float], spec: RunSpec, scorer) -> list[float]:
        """One training step of every member: forward, backward, clipping, AdamW; the K train losses."""
        losses = self.losses(windows, scorer.autocast, scorer.head_dtype)
        losses.sum().backward()  # each member's loss reaches only its own slice of the stack
        self.adamw_step(lrs, spec)
        return losses.detach().float().tolist()

    @torch.no_grad()
    def adamw_step(self, lrs: list[float], spec: RunSpec) -> None:
        """torch.optim.AdamW (decoupled weight decay, bias-corrected moments) with global-norm clipping,
        each member with its own LR and step count; every tensor op covers all K members at once."""
        k = len(lrs)
        shape = lambda t: (k,) + (1,) * (t.dim() - 1)  # noqa: E731 - per-member scalars broadcast over a weight
        grads = {n: self.params[n].grad for n in self.names}
        if spec.grad_clip:  # as torch.nn.utils.clip_grad_norm_, per member
            sq = sum(g.float().pow(2).reshape(k, -1).sum(1) for g in grads.values())
            coef = (spec.grad_clip / (sq.sqrt() + 1e-6)).clamp(max=1.0)
            for g in grads.values():
                g.mul_(coef.view(shape(g)).to(g.dtype))
        self.adam_steps = [s + 1 for s in self.adam_steps]
        t = torch.tensor(self.adam_steps, dtype=torch.float64)
        lr = torch.tensor(lrs, dtype=torch.float64)
        step_size = (lr / (1 - spec.beta1 ** t)).float()
        bc2_sqrt = (1 - spec.beta2 ** t).sqrt().float()
        for n in self.names:
            p, g, m, v = self.params[n], grads[n], self.exp_avg[n], self.exp_avg_sq[n]
            if self.decay[n] and spec.weight_decay:
                p.mul_((1 - lr.float() * spec.weight_decay).view(shape(p)))
            m.lerp_(g, 1 - spec.beta1)
            v.mul_(spec.beta2).addcmul_(g, g, value=1 - spec.beta2)
            denom = (v.sqrt() / bc2_sqrt.view(shape(v))).add_(1e-8)
            p.addcdiv_(m * step_size.view(shape(m)), denom, value=-1.0)
            p.grad = None


class _Member:
    """One run of the group: its spec, folder, trainer (model, data, scorer), progress and log."""

    def __init__(self, spec: RunSpec, run_dir: Path, data, extra: EvalSets, device: str, log: str):
        self.spec, self.run_dir, self.extra = spec, run_dir, extra
        self.tr, self.p = start_or_resume(spec, data, device, run_dir)
        self.out = Log(log, spec, self.p.step)
        self.evals = set(eval_steps(spec))
        self.run_sum, self.run_n = 0.0, 0  # train loss summed since the last eval
        self.ckpt_due = False  # checkpoint at the next eval point

    def windows(self) -> torch.Tensor:
        s = self.spec
        starts = batch_starts(len(self.tr.train_tokens), s.n_ctx, s.batch_size, s.seed, self.p.step)
        return torch.from_numpy(gather_windows(self.tr.train_tokens, starts, s.n_ctx))


# ---------------------------------------------------------------------------------------------
# train_batched and its loop
# ---------------------------------------------------------------------------------------------

def train_batched(specs, runs_dir="runs/default", *, device: str | None = "cpu", threads: int | None = None,
                  log: str = "none", checkpoint_every_s: float = 30.0, stop_after_step: int | None = None,
                  eval_sets=None) -> list[Path]:
    """Train the specs that are not DONE in ``runs_dir`` as one stacked model; return every spec's run
    folder, in the order given. All specs must share one batch_key (plan_groups makes such groups).
    Arguments as train_run's; stop_after_step: every member stops (as a kill would) after checkpointing
    at its first eval at or after that step."""
    specs = [s.validate() for s in specs]
    keys = {batch_key(s) for s in specs}
    if None in keys or len(keys) != 1:
        raise RunError("train_batched needs specs of one shape, batch, context, corpus, precision and dropout "
                       "(transformer, fast kernels, no compile or noise_scale); group them with plan_groups")
    device = resolve_device(device)
    runs_dir = Path(runs_dir)
    dirs = [runs_dir / s.run_id for s in specs]
    for d in dirs:  # before anything is read from, or written to, any member's folder
        refuse_links(d)
    todo = list({s.run_id: s for s, d in zip(specs, dirs) if not is_done(d)}.values())
    if not todo:
        return dirs
    data = prepare_tokens(todo[0].corpus, todo[0].vocab_size, quiet=log == "none")
    for s in todo:
        check_data(s, data)
    extras = [EvalSets(eval_sets, data, s) for s in todo]
    with contextlib.ExitStack() as locks:
        for s in sorted(todo, key=lambda s: s.run_id):  # one order everywhere: no two groups deadlock
            (runs_dir / s.run_id).mkdir(parents=True, exist_ok=True)
            locks.enter_context(file_lock(runs_dir / s.run_id / ".lock", waiting=f"run {s.run_id}"))
        todo = [(s, e) for s, e in zip(todo, extras) if not is_done(runs_dir / s.run_id)]  # done while we waited
        if todo:
            _train_group(todo, data, runs_dir, device, threads, log, checkpoint_every_s, stop_after_step)
    return dirs


def _train_group(todo, data, runs_dir, device, threads, log, checkpoint_every_s, stop_after_step) -> None:
    if threads:
        torch.set_num_threads(threads)
    malloc_tuned = tune_allocator()
    execution = {"mode": "batched", "group_size": len(todo)}
    members = []
    for spec, extra in todo:
        run_dir = runs_dir / spec.run_id
        write_config(spec, data, run_dir, device, malloc_tuned, execution=execution)
        members.append(_Member(spec, run_dir, data, extra, device, log))
    stack = Stack([m for m in members if m.p.step < m.spec.steps])
    for m in members:
        if m.p.step >= m.spec.steps:  # pragma: no cover - a checkpoint is never written at the last step
            finish_run(m.spec, m.run_dir, m.tr, m.extra, m.p, "ok", "")
    spec0 = todo[0][0]
    scorer = members[0].tr.scorer  # autocast and head dtype: the same for the whole group (batch_key)
    limit = math.log(spec0.vocab_size) + DIVERGE_MARGIN_NATS
    last_ckpt = time.perf_counter()
    while stack.members:
        active = stack.members
        t0 = time.perf_counter()
        w = torch.stack([m.windows() for m in active]).to(device, non_blocking=True)
        lrs = [get_lr(m.p.step, m.spec) for m in active]
        values = stack.step(w, lrs, spec0, scorer)
        step_s = time.perf_counter() - t0  # training time of every member in the step (evals excluded)
        if time.perf_counter() - last_ckpt > checkpoint_every_s:
            for m in active:  # each checkpoints at its next eval point, where train_run does
                m.ckpt_due = True
            last_ckpt = time.perf_counter()
        done: dict[int, tuple[str, str]] = {}
        for i, (m, loss) in enumerate(zip(active, values)):
            m.p.step += 1
            m.p.train_s += step_s
            m.out.tick()
            if reason := diverged_train(loss, m.p.step, m.spec.vocab_size, limit):
                done[i] = ("diverged", reason)
                continue
            m.run_sum, m.run_n = m.run_sum + loss, m.run_n + 1
            if m.p.step in m.evals:
                if outcome := _at_eval(stack, i, m, limit, stop_after_step):
                    done[i] = outcome
        for i, (status, reason) in done.items():
            m = active[i]
            m.out.close()
            if status != "killed":
                stack.export(i)  # the final weights (a diverged run's where it diverged, as train_run)
                finish_run(m.spec, m.run_dir, m.tr, m.extra, m.p, status, reason)
        if done:
            stack.keep([i for i in range(len(active)) if i not in done])


def _at_eval(stack: Stack, i: int, m: _Member, limit: float, stop_after_step) -> tuple[str, str] | None:
    """Member i's eval point (as train_run's loop): validation loss, metrics row, extra sets, early
    stopping, checkpoint. Returns (status, reason) when the member is finished, or ("killed", "") when
    stop_after_step simulated a kill after its checkpoint; None while it trains on."""
    stack.export(i)  # its weights into its own model, which the scorer and the checkpoint read
    ended = eval_point(m.spec, m.tr, m.p, m.extra, m.out, m.run_sum / m.run_n, limit)
    m.run_sum, m.run_n = 0.0, 0
    if ended:
        return ended
    if m.p.step >= m.spec.steps:
        return "ok", ""
    if m.ckpt_due or stop_after_step is not None:
        save_checkpoint(m.run_dir, m.tr, m.p)
        m.ckpt_due = False
        if stop_after_step is not None and m.p.step >= stop_after_step:
            return "killed", ""
    return None
