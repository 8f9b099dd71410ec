"""Scoring a model on token windows: the training loss, the validation loss, extra eval sets, the loss
by position in the context; and a run's kept final weights.

    from scalinglaws.training.evaluate import evaluate_run, load_model, position_losses
    model = load_model(run_dir)             # the run's final weights (model.safetensors), in eval mode
    evaluate_run(run_dir, ["ood"])          # add a finished run's final-point loss on sets it lacks
    position_losses(run_dir)                # mean validation loss at positions 1..n_ctx, from the weights

Extra eval sets (``train_run(..., eval_sets=...)``): "ood" (the four texts in ../shared/ood), one of them
("ood:fortunes", "ood:gcide-dictionary", "ood:linux-kernel-docs", "ood:python-stdlib-source"), or any
corpus string the project reads (all of its documents). Each is tokenized with the run's tokenizer
(cached, data.eval_set_tokens) and scored on spec.eval_tokens // n_ctx evenly spaced windows (fewer
when the text is shorter), the same windows for every run of a tokenizer.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from scalinglaws import ScalingLawsError
from scalinglaws.data.eval_text import eval_set_tokens, resolve_eval_sets
from scalinglaws.data.paths import file_lock
from scalinglaws.data.tokens import prepare_tokens
from scalinglaws.data.windows import eval_set_starts, eval_starts, gather_windows
from scalinglaws.training.loss import linear_cross_entropy
from scalinglaws.training.model import build_model, trunk
from scalinglaws.training.run_folder import (
    file_sha256,
    is_done,
    read_evals,
    read_positions,
    read_sidecars,
    read_spec,
    read_summary,
    refuse_links,
    tmp_path,
    writable,
    write_sidecars,
)
from scalinglaws.training.spec import RunSpec

WEIGHTS_FILE = "model.safetensors"
EVAL_BATCH = 64  # windows per forward pass when evaluating
VAL = "val"  # the validation split's name among the sets of positions.json


class MissingWeightsError(ScalingLawsError):
    """A finished run without model.safetensors (trained before weights were kept)."""


class Scorer:
    """A model's mean next-token cross-entropy (nats/token) on windows (batch, n_ctx + 1), computed the
    way the spec trains it: the one definition behind the training loss, the validation loss, the extra
    eval sets and the loss by position."""

    def __init__(self, model, spec: RunSpec, device: str, *, compile: bool | None = None):
        self.model, self.spec, self.device = model, spec, device
        dev_type = device.split(":")[0]
        self.autocast = (torch.autocast(device_type=dev_type, dtype=torch.bfloat16) if spec.precision == "bf16"
                         else torch.autocast(device_type=dev_type, enabled=False))
        self.head_dtype = torch.bfloat16 if spec.precision == "bf16" else torch.float32  # head matmuls
        # What loss() calls: the trunk (fast kernels: then the fused chunked head loss) or the whole model
        # (reference), compiled if the spec asks; self.model keeps the plain modules, so checkpoints and
        # saved weights are unchanged by compiling.
        self.body = trunk(model) if spec.kernels == "fast" else model
        if spec.compile if compile is None else compile:
            self.body = torch.compile(self.body, dynamic=False)

    def loss(self, w: torch.Tensor) -> torch.Tensor:
        """Mean loss of windows w, with the graph for backward when grad is enabled."""
        x, y = w[:, :-1], w[:, 1:]
        if self.spec.kernels == "fast":
            with self.autocast:
                h = self.body(input_ids=x).last_hidden_state
            return linear_cross_entropy(h, self.model.lm_head.weight, y, dtype=self.head_dtype)
        with self.autocast:
            logits = self.body(input_ids=x).logits
        return torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1))

    def mean_loss(self, windows: torch.Tensor) -> float:
        """Mean loss over all windows (eval mode, no grad), in batches of EVAL_BATCH."""
        was_training = self.model.training
        self.model.eval()
        total, n = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(windows), EVAL_BATCH):
                w = windows[i : i + EVAL_BATCH].to(self.device)
                total += self.loss(w).item() * len(w)
                n += len(w)
        self.model.train(was_training)
        return total / n

    def position_loss(self, windows: torch.Tensor) -> np.ndarray:
        """Mean loss at each position t = 1..n_ctx over the windows (t = 1 predicts the second token of a
        window from the first alone): Kaplan's loss per token index (App. D.5, Fig. 20)."""
        was_training = self.model.training
        self.model.eval()
        total = np.zeros(windows.shape[1] - 1)
        with torch.no_grad():
            for i in range(0, len(windows), EVAL_BATCH):
                w = windows[i : i + EVAL_BATCH].to(self.device)
                x, y = w[:, :-1], w[:, 1:]
                if self.spec.kernels == "fast":  # as loss(): the trunk under autocast, the head in head_dtype
                    with self.autocast:
                        h = trunk(self.model)(input_ids=x).last_hidden_state
                    logits = h.to(self.head_dtype) @ self.model.lm_head.weight.to(self.head_dtype).t()
                else:
                    with self.autocast:
                        logits = self.model(input_ids=x).logits
                per_token = torch.nn.functional.cross_entropy(
                    logits.float().reshape(-1, logits.size(-1)), y.reshape(-1), reduction="none").view_as(y)
                total += per_token.double().sum(0).cpu().numpy()
        self.model.train(was_training)
        return total / len(windows)


def validation_windows(spec: RunSpec, data) -> torch.Tensor:
    """The fixed validation windows of a spec (data.eval_starts): the same for every run of a corpus."""
    val = data.validation
    return torch.from_numpy(gather_windows(val, eval_starts(len(val), spec.n_ctx, spec.eval_tokens), spec.n_ctx))


class EvalSets:
    """The windows of a run's extra eval sets: `names` (resolved), `info[name]` (what the set is, its
    tokens and windows), `windows[name]` (a tensor of windows)."""

    def __init__(self, names, data, spec: RunSpec):
        self.names = resolve_eval_sets(names)
        if VAL in self.names:
            raise ScalingLawsError(f"eval set {VAL!r} is the run's own validation split, always evaluated; "
                                   "name another set")
        self.info, self.windows = {}, {}
        for name in self.names:
            tokens, info = eval_set_tokens(name, data)
            starts = eval_set_starts(len(tokens), spec.n_ctx, spec.eval_tokens)
            self.windows[name] = torch.from_numpy(gather_windows(tokens, starts, spec.n_ctx))
            self.info[name] = {**info, "windows": len(starts)}

    def rows(self, scorer: Scorer, step: int, tokens: int) -> list[dict]:
        """One row {step, tokens, set, loss} per set at this point."""
        return [{"step": step, "tokens": tokens, "set": n, "loss": scorer.mean_loss(self.windows[n])}
                for n in self.names]

    def positions(self, scorer: Scorer) -> dict[str, list[float]]:
        return {n: scorer.position_loss(self.windows[n]).tolist() for n in self.names}


# ---------------------------------------------------------------------------------------------
# Kept weights
# ---------------------------------------------------------------------------------------------

def save_weights(model, spec: RunSpec, run_dir: Path) -> str:
    """Write the model's weights to run_dir/model.safetensors, with the spec in its metadata so the file
    alone rebuilds the model; returns its SHA-256. A tied output head is stored once (as the embedding)."""
    tensors, seen = {}, set()
    for name, t in model.state_dict().items():
        if t.data_ptr() in seen:  # the tied head: the same storage as the token embedding
            continue
        seen.add(t.data_ptr())
        tensors[name] = t.detach().to("cpu").contiguous()
    path = writable(Path(run_dir) / WEIGHTS_FILE)
    tmp = tmp_path(path)
    save_file(tensors, str(tmp), metadata={"run_id": spec.run_id, "spec": json.dumps(spec.to_dict())})
    tmp.replace(path)
    return file_sha256(path)


def _missing_weights(run_dir: Path) -> MissingWeightsError:
    return MissingWeightsError(
        f"run {run_dir.name} in {run_dir.parent} has no kept weights ({WEIGHTS_FILE}; runs trained before "
        f"2026-12-03 did not keep them, and they are not in the published store): train the same spec again, "
        f"with the eval sets, into a scratch store (train_run(spec, 'runs/scratch', eval_sets=...) or "
        f"scalinglaws train ... --runs-dir runs/scratch --eval-sets ...), which also gives every eval point")


def load_model(run_dir, device: str = "cpu"):
    """The final weights of a run (a run folder, or a model.safetensors file) as a model in eval mode,
    rebuilt from the spec stored with them. Checks them against the SHA-256 in the run's evals.json."""
    path = Path(run_dir)
    path = path if path.suffix == ".safetensors" else path / WEIGHTS_FILE
    if not path.is_file():
        raise _missing_weights(path.parent)
    with safe_open(str(path), framework="pt") as fh:
        spec = RunSpec.from_dict(json.loads(fh.metadata()["spec"]))
    summ = read_sidecars(path.parent)
    if summ and summ.get("weights_sha256") and file_sha256(path) != summ["weights_sha256"]:
        raise ScalingLawsError(f"{path} is not the file run {path.parent.name} wrote (its checksum in evals.json "
                               "differs); delete it and train the run again to get its weights")
    model = build_model(spec.shape(), dropout=spec.dropout, kernels=spec.kernels)
    missing, unexpected = model.load_state_dict(load_file(str(path)), strict=False)
    tied = {"lm_head.weight"}  # stored once, as the embedding (save_weights)
    if unexpected or set(missing) - tied:
        raise ScalingLawsError(f"{path} does not match its model (missing {missing}, unexpected {unexpected})")
    return model.to(device).eval()


# ---------------------------------------------------------------------------------------------
# After training: extra sets and positions from kept weights
# ---------------------------------------------------------------------------------------------

def evaluate_run(run_dir, sets, *, device: str = "cpu") -> Path:
    """Add to a finished run the final-point loss (and loss by position) of each of `sets` it lacks,
    computed from its kept weights; the run's metrics, summary and address are untouched. Sets it has
    are left as they are; a diverged run (no final evaluation) is left as it is. Raises
    MissingWeightsError, saying how to get them, when the run kept no weights."""
    run_dir = Path(run_dir)
    refuse_links(run_dir)  # before its lock file is opened or anything is written
    if not is_done(run_dir):
        raise ScalingLawsError(f"run {run_dir.name} in {run_dir.parent} is not finished (no DONE); train it "
                               "with eval_sets instead")
    with file_lock(run_dir / ".lock", waiting=f"run {run_dir.name}"):  # one writer of a run folder at a time
        return _evaluate_locked(run_dir, sets, device)


def _evaluate_locked(run_dir: Path, sets, device: str) -> Path:
    summ = read_summary(run_dir)
    side = read_sidecars(run_dir) or {"sets": {}, "weights_sha256": None}
    positions = read_positions(run_dir)
    missing = [n for n in resolve_eval_sets(sets) if n not in side["sets"]]
    if summ["status"] == "diverged" or (not missing and positions is not None):
        return run_dir
    model = load_model(run_dir, device)
    spec = read_spec(run_dir)
    data = prepare_tokens(spec.corpus, spec.vocab_size, quiet=True)
    extra = EvalSets(missing, data, spec)
    scorer = Scorer(model, spec, device, compile=False)
    if positions is None:  # a run trained before positions were recorded
        val = validation_windows(spec, data)
        positions = {"step": summ["steps"], "tokens": summ["tokens"], "n_ctx": spec.n_ctx,
                     "windows": {VAL: len(val)}, "losses": {VAL: scorer.position_loss(val).tolist()}}
    positions["windows"].update({n: extra.info[n]["windows"] for n in missing})
    positions["losses"].update(extra.positions(scorer))
    rows = read_evals(run_dir) + extra.rows(scorer, summ["steps"], summ["tokens"])
    sets_info = {**side["sets"], **{n: {**extra.info[n], "evaluated": "after training: final point only", "points": 1}
                                    for n in missing}}
    write_sidecars(run_dir, run_id=run_dir.name, rows=rows, sets=sets_info, positions=positions,
                   weights_sha256=side["weights_sha256"] or file_sha256(run_dir / WEIGHTS_FILE))
    return run_dir


def position_losses(run_dir, set: str | None = None, *, device: str = "cpu") -> np.ndarray:
    """Mean loss at positions 1..n_ctx of a run's final weights on the validation windows (set=None) or
    on an extra eval set's windows, computed now from the kept weights (what positions.json records for
    the sets a run was evaluated on)."""
    run_dir = Path(run_dir)
    model = load_model(run_dir, device)
    spec = read_spec(run_dir)
    data = prepare_tokens(spec.corpus, spec.vocab_size, quiet=True)
    windows = validation_windows(spec, data) if set in (None, VAL) else EvalSets([set], data, spec).windows[set]
    return Scorer(model, spec, device, compile=False).position_loss(windows)
