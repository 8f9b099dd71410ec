"""The `scalinglaws` command line, over the same functions the notebooks use.

    scalinglaws prepare --corpus gutenberg --vocab 1024        # tokenizer + token cache, split sizes
    scalinglaws train --n-layer 2 --d-model 32 --tokens 2e6    # one run; prints its folder and losses
    scalinglaws train --n-layer 2 --d-model 32 --eval-sets ood # ... and its loss on the ../shared/ood texts
    scalinglaws runs --runs-dir runs/cpu                       # list a store
    scalinglaws runs --runs-dir runs/cpu --check               # exit 1 if any finished run is corrupt
    scalinglaws study --profile quick                          # execute the notebooks with papermill
    scalinglaws study --profile gpu --device cuda --train-only # train every run first (GPU: many at once)
    scalinglaws study --profile cpu --executor slurm           # the runs as Slurm job arrays (docs/slurm.md)
    scalinglaws estimate --profile cpu                         # how long a cold study takes on this machine
    scalinglaws estimate --profile gpu --throughput benchmarks/results/speed_gpu.json   # on paper, on that GPU
    scalinglaws report --profile cpu                           # the results table (markdown) from NN_results.json
    scalinglaws predict --compute 1e21                         # compute-optimal N, D, loss: Kaplan beside Chinchilla
    scalinglaws predict --params 1e9 --tokens 2e10             # loss of a model, and whether it overfits
    scalinglaws predict --run runs/cli/<id> --target-loss 4.5  # a run's final loss and the steps to a target

Exit status: see EXIT_CODES below (also in ``scalinglaws --help``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from scalinglaws import ScalingLawsError, __version__
from scalinglaws.data.tokens import prepare_tokens
from scalinglaws.predict import predict, render, to_json
from scalinglaws.report import claims_markdown, findings_markdown, results_markdown
from scalinglaws.runner import run_study
from scalinglaws.store.ensure import ensure_runs
from scalinglaws.store.executors import usable_cores
from scalinglaws.store.tables import list_runs
from scalinglaws.study.plan import Study
from scalinglaws.study.profiles import PROFILES
from scalinglaws.training.run_folder import read_evals, read_summary, repair_hint
from scalinglaws.training.spec import RunSpec


# What each exit status means; printed at the end of `scalinglaws --help`. A diverged run (the model's
# loss exploded: a fact about the LR, recorded in the store) is told apart from a crash (a bug or a
# broken machine), so scripts can retry one with a lower LR and report the other.
EXIT_CODES = {
    0: "done",
    1: "a crash (an unexpected error, with its traceback), or a corrupt finished run (runs --check)",
    2: "an error you can fix (a bad option, file or folder), printed as one line 'error: ...' naming the fix",
    3: "the run diverged (train): recorded in the store as diverged; lower --lr",
    130: "interrupted (Ctrl-C)",
}
EXIT_DIVERGED = 3


def _num(s: str) -> int:
    """Accept 2e6 or 2_000_000 for token counts (and any whole number); inf, nan and fractions are refused."""
    try:
        v = float(s.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{s} is not a finite number: give a whole number such as 2e6")
    if v != int(v):
        raise argparse.ArgumentTypeError(f"not an integer: {s}")
    # exact for integers typed as digits (float would round 2**53 + 1)
    return int(s.replace("_", "")) if s.replace("_", "").lstrip("+-").isdigit() else int(v)


def _workers(flag: str, n: int) -> None:
    if n < 0:
        raise ScalingLawsError(f"{flag} {n}: use a whole number >= 0 (0 = automatic)")


def _output_file(flag: str, path: str) -> Path:
    """A file the command will write: its folder must exist and be writable, checked before any work
    (estimate --csv would otherwise time every shape first, then fail)."""
    out = Path(path)
    parent = out.parent
    if out.is_dir():
        raise ScalingLawsError(f"{flag} {path}: that is a folder; name a file in it")
    if not parent.is_dir():
        raise ScalingLawsError(f"{flag} {path}: folder {parent} does not exist; create it or name a file in an existing folder")
    why = _cannot_write_in(parent)
    if why or (out.exists() and not os.access(out, os.W_OK)):
        raise ScalingLawsError(f"{flag} {path}: cannot write there ({why or 'read-only file'}); choose a folder you can write to")
    return out


def _cannot_write_in(folder: Path) -> str:
    """'' if a file can be created in folder, else why not. Tried, not read off the mode bits: root
    passes every permission check, yet not on a read-only filesystem."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return ""
    except OSError as e:
        return e.strerror or str(e)


def _write_text(flag: str, out: Path, text: str) -> None:
    try:
        out.write_text(text)
    except OSError as e:
        raise ScalingLawsError(f"{flag} {out}: cannot write it ({e.strerror or e}); choose a folder you can write to") from None


def _executor(a) -> str:
    """--executor and --slurm-config. The config file is checked here (one line if bad) and named in the
    environment (SCALINGLAWS_SLURM_CONFIG), where the notebooks' kernels find it too."""
    if a.slurm_config:
        from scalinglaws.store.slurm import (
            SlurmOptions,  # imports submitit (the optional `slurm` extra) where installed
        )

        SlurmOptions.from_file(a.slurm_config)
        os.environ["SCALINGLAWS_SLURM_CONFIG"] = os.path.abspath(a.slurm_config)
    return a.executor


def _cmd_prepare(a) -> int:
    td = prepare_tokens(a.corpus, a.vocab)
    print(f"corpus {a.corpus} fingerprint {td.fingerprint} vocab {a.vocab}")
    for k, v in td.token_counts().items():
        print(f"  {k:<10} {v:>12,} tokens  {len(td.meta['documents'][k]):>4} documents  "
              f"{td.meta['chars_per_token'][k]:.2f} chars/token")
    print(f"cache: {td.root}")
    return 0


def _cmd_train(a) -> int:
    spec = RunSpec(n_layer=a.n_layer, d_model=a.d_model, n_head=a.n_head, d_ff=a.d_ff, n_ctx=a.n_ctx,
                   corpus=a.corpus, vocab_size=a.vocab, tokens=a.tokens, batch_size=a.batch_size,
                   data_tokens=a.data_tokens, seed=a.seed, precision=a.precision, kernels=a.kernels,
                   compile=a.compile, patience=a.patience, lr=a.lr or None, lr_source="cli" if a.lr else "manual",
                   dropout=a.dropout, schedule=a.schedule, warmup_steps=a.warmup_steps,
                   data_sampling=a.data_sampling, arch=a.arch)
    spec.validate()  # before anything is derived from the shape (a zero width would divide by zero)
    from scalinglaws.training.loop import train_run  # torch (seconds): after validation, so a bad option fails at once
    if a.threads is not None and a.threads < 1:
        raise ScalingLawsError(f"--threads {a.threads}: use a whole number >= 1 (or leave it out for all cores)")
    print(f"run {spec.run_id}: N={spec.n_params:,} (non-embedding) steps={spec.steps} lr={spec.lr:g} ({spec.lr_source})",
          flush=True)
    if _executor(a) == "slurm":  # one Slurm job; threads = its CPUs (else the config's cpus_per_task)
        ensure_runs([spec], a.runs_dir, executor="slurm", device=a.device, threads=a.threads, eval_sets=a.eval_sets)
        rd = Path(a.runs_dir) / spec.run_id
    else:
        rd = train_run(spec, a.runs_dir, device=a.device, threads=a.threads, eval_sets=a.eval_sets)
    s = read_summary(rd)
    if s["status"] == "diverged":  # no final loss to print: one line, its own exit status
        print(f"{rd}\nstatus diverged", flush=True)
        print(f"error: diverged: {s.get('reason') or 'the loss exploded'} (recorded in the store as diverged; "
              f"lower --lr, now {spec.lr:g})", file=sys.stderr)
        return EXIT_DIVERGED
    print(f"{rd}\nstatus {s['status']}  final val loss {s['final_val_loss']:.4f}  best {s['best_val_loss']:.4f} "
          f"at step {s['best_step']}  ({s['tokens_per_s'] or 0:,.0f} tokens/s)")
    if a.eval_sets:
        final = {r["set"]: r["loss"] for r in read_evals(rd) if r["step"] == s["steps"]}
        print("final loss on eval sets: " + ", ".join(f"{k} {v:.4f}" for k, v in final.items()))
    return 0


def _cmd_runs(a) -> int:
    df = list_runs(a.runs_dir)
    if df.empty:
        print(f"no runs in {a.runs_dir}")
        return 0
    if a.format == "csv":
        print(df.to_csv(index=False), end="")
    elif a.format == "json":
        print(df.to_json(orient="records", indent=1))
    else:
        with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_colwidth", 80):
            print(df.to_string(index=False))
    bad = df[df["status"] == "corrupt"]
    if a.check:
        if len(bad):
            first = bad.iloc[0]
            print(f"error: {len(bad)} corrupt run(s) in {a.runs_dir}; first: {first['run_id']}: {first['problem']}. "
                  f"{repair_hint(Path(a.runs_dir) / first['run_id'])}", file=sys.stderr)
            return 1
        print(f"all {len(df)} run folders check out ({int((df['status'] == 'unfinished').sum())} unfinished)", file=sys.stderr)
    return 0


def _cmd_study(a) -> int:
    _workers("--workers", a.workers)
    if a.out:
        _output_folder("--out", a.out)
    if a.group is not None:
        if a.group < 1:
            raise ScalingLawsError("--group must be >= 1 (runs per stacked model; 1 = one at a time)")
        os.environ["SCALINGLAWS_GROUP"] = str(a.group)  # reaches ensure_runs here and in every notebook kernel
    if a.train_only:
        t0 = time.perf_counter()
        n = Study(a.profile, runs_dir=a.runs_dir, workers=a.workers, device=a.device,
                  executor=_executor(a)).train_all()
        print(f"[study {a.profile}] {n} grid runs (besides the LR sweeps) in the store ({(time.perf_counter() - t0) / 60:.1f} min)")
        return 0
    run_study(profile=a.profile, notebooks=a.notebooks, workers=a.workers, device=a.device, out=a.out,
              runs_dir=a.runs_dir, pretrain=False if a.no_pretrain else None, executor=_executor(a))
    return 0


def _output_folder(flag: str, path: str) -> None:
    """A folder the command writes into (created if missing): refused at once where it cannot be."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ScalingLawsError(f"{flag} {path}: that is a file; name a folder")
    existing = next(q for q in (p, *p.parents) if q.exists())  # the folder it would be created in
    why = "a file, not a folder" if not existing.is_dir() else _cannot_write_in(existing)
    if why:
        raise ScalingLawsError(f"{flag} {path}: cannot write in {existing} ({why}); choose a folder you can write to")


def _cmd_estimate(a) -> int:
    from scalinglaws.study.estimate import estimate, estimate_from_throughput

    if a.throughput:  # on paper, for the device the benchmark ran on: nothing is timed here
        if not Path(a.throughput).is_file():
            raise ScalingLawsError(f"--throughput {a.throughput}: no such file; give a bench_speed.py result such as "
                                   "benchmarks/results/speed_gpu.json")
        if a.csv:
            _output_file("--csv", a.csv)
        e = estimate_from_throughput(a.profile, a.throughput, runs_dir=a.runs_dir)
        print(e.summary())
        if a.csv:
            _write_text("--csv", Path(a.csv), e.runs.to_csv(index=False))
            print(f"wrote {a.csv} (one row per run)")
        return 0
    if a.workers < 1:
        raise ScalingLawsError(f"--workers {a.workers}: use a whole number >= 1 (training processes timed at once)")
    if a.csv:
        _output_file("--csv", a.csv)

    e = estimate(a.profile, workers=a.workers, runs_dir=a.runs_dir, log=None if a.quiet else print)
    print(e.summary())
    if a.csv:
        _write_text("--csv", Path(a.csv), e.runs.to_csv(index=False))
        print(f"wrote {a.csv} (one row per run)")
    return 0


def _cmd_report(a) -> int:
    tables = {"claims": claims_markdown, "full": results_markdown, "findings": findings_markdown}
    if a.write:
        out = _output_file("--write", a.write)
        text = (f"# Full results of the `{a.profile}` profile\n\nGenerated by `scalinglaws report --profile {a.profile} "
                f"--write {a.write}` from figures/{a.profile}/NN_results.json; do not edit by hand.\n\n"
                "## Claims\n\n" + claims_markdown(a.profile) + "\n\n## Every quantity\n\n" + results_markdown(a.profile) + "\n")
        _write_text("--write", out, text)
        print(f"wrote {out}")
        return 0
    print(tables[a.table](a.profile))
    return 0


def _cmd_predict(a) -> int:
    report = predict(compute=a.compute, gpu_hours=a.gpu_hours, gpu=a.gpu, mfu=a.mfu, params=a.params,
                     tokens=a.tokens, run=a.run, target_loss=a.target_loss, laws=a.laws,
                     results_dir=a.results_dir, n_boot=a.n_boot)
    print(to_json(report) if a.json else render(report))
    return 0


class _DefaultsShown(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default in its help, except where there is none to show (None, a flag's False)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class _DefaultsShownRaw(_DefaultsShown):
    """The top-level help: the epilog's table of exit codes keeps its lines."""

    def _fill_text(self, text, width, indent):
        return "".join(indent + line for line in text.splitlines(keepends=True))


class _OneLineErrors(argparse.ArgumentParser):
    """A bad option is one line on stderr (``error: scalinglaws train: ...``), exit 2, as every other
    error a user can fix; the usage is one --help away."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _add_executor_options(p) -> None:
    p.add_argument("--executor", default="local", choices=["local", "slurm"],
                   help="local: train on this machine; slurm: as Slurm job arrays through submitit (docs/slurm.md)")
    p.add_argument("--slurm-config", default=None, metavar="PATH",
                   help="TOML file of Slurm options (partition, time_min, ...); default $SCALINGLAWS_SLURM_CONFIG, else built-in")


def build_parser() -> argparse.ArgumentParser:
    fmt = _DefaultsShown  # every option's help shows its default
    epilog = "exit status:\n" + "\n".join(f"  {k:<4} {v}" for k, v in EXIT_CODES.items())
    p = _OneLineErrors(prog="scalinglaws", description="Reproduce Kaplan et al. 2020 at small scale.",
                       formatter_class=_DefaultsShownRaw, epilog=epilog)
    p.add_argument("--version", action="version", version=f"scalinglaws {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    _add = sub.add_parser
    sub.add_parser = lambda *a, **kw: _add(*a, formatter_class=fmt, **kw)  # defaults shown in every subcommand

    pp = sub.add_parser("prepare", help="build the tokenizer and token cache; print tokens per split")
    pp.add_argument("--corpus", default="gutenberg", help="gutenberg[:N books], a local file or folder, or hub:<dataset id>")
    pp.add_argument("--vocab", type=int, default=1024, help="BPE vocabulary size")
    pp.set_defaults(fn=_cmd_prepare)

    pt = sub.add_parser("train", help="train one run (idempotent); print its folder and final losses")
    pt.add_argument("--corpus", default="gutenberg", help="gutenberg[:N], a local path, or hub:<id>")
    pt.add_argument("--runs-dir", default="runs/cli", help="run store: the run goes to <runs-dir>/<run id>")
    pt.add_argument("--arch", default="gpt2", choices=["gpt2", "lstm"],
                    help="gpt2 (the transformer) or lstm (n-layer LSTM layers of width d-model; notebook 08)")
    pt.add_argument("--n-layer", type=_num, required=True, help="transformer blocks (or LSTM layers)")
    pt.add_argument("--d-model", type=_num, required=True, help="residual stream width")
    pt.add_argument("--n-head", type=_num, default=0, help="0 = d_model/16")
    pt.add_argument("--d-ff", type=_num, default=0, help="0 = 4*d_model")
    pt.add_argument("--n-ctx", type=_num, default=128, help="context length in tokens")
    pt.add_argument("--vocab", type=_num, default=1024, help="BPE vocabulary size")
    pt.add_argument("--tokens", type=_num, default=2_000_000, help="training tokens (e.g. 2e6)")
    pt.add_argument("--data-tokens", type=_num, default=0, help="train on a D-token subset (repeating); 0 = all")
    pt.add_argument("--data-sampling", default="prefix", choices=["prefix", "chunks"],
                    help="subset = the first D tokens, or random 2048-token chunks across all books")
    pt.add_argument("--batch-size", type=_num, default=16, help="sequences per step")
    pt.add_argument("--lr", type=float, default=0.0, help="peak LR; 0 = the default rule for this N")
    pt.add_argument("--patience", type=int, default=0, help="early stopping after this many evals w/o gain")
    pt.add_argument("--schedule", default="cosine", choices=["cosine", "wsd"], help="LR decay after warmup")
    pt.add_argument("--warmup-steps", type=_num, default=0, help="0 = min(200, 5%% of the steps)")
    pt.add_argument("--dropout", type=float, default=0.0, help="dropout probability (Kaplan: 0.1 on data-limited runs)")
    pt.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    pt.add_argument("--kernels", default="fast", choices=["fast", "reference"],
                    help="fast: exact GELU + fused head loss; reference: GPT-2 tanh GELU + plain cross_entropy")
    pt.add_argument("--compile", action="store_true", help="torch.compile the block stack (measure first: no gain on CPU)")
    pt.add_argument("--seed", type=_num, default=0, help="model initialisation and data order")
    pt.add_argument("--eval-sets", nargs="+", default=None, metavar="SET",
                    help="also evaluate these texts at every eval point (evals.jsonl beside the run; the run's id "
                         "and results are unchanged): ood (all four of ../shared/ood), ood:fortunes, "
                         "ood:gcide-dictionary, ood:linux-kernel-docs, ood:python-stdlib-source, or a corpus string; "
                         "on a finished run, its final point from the kept weights")
    pt.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    pt.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    _add_executor_options(pt)
    pt.set_defaults(fn=_cmd_train)

    pr = sub.add_parser("runs", help="list the runs of a store")
    pr.add_argument("--runs-dir", default="runs/cli", help="the store to list")
    pr.add_argument("--check", action="store_true", help="exit 1 if any finished run is corrupt (see store.verify_run)")
    pr.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format")
    pr.set_defaults(fn=_cmd_runs)

    ps = sub.add_parser("study", help="execute the study's notebooks with papermill")
    ps.add_argument("--profile", default="cpu", choices=list(PROFILES), help="run grids (scalinglaws.study.profiles)")
    ps.add_argument("--notebooks", nargs="*", default=None, help="e.g. 01 06b; all nine findings' notebooks when left out (the exercise, 09, only when named)")
    ps.add_argument("--workers", type=int, default=0, help="0 = automatic layout")
    ps.add_argument("--group", type=int, default=None, metavar="K",
                    help="train up to K same-shape runs as one stacked model (scalinglaws.training.batched); 1 = one at a time; "
                         "default: the measured choice for the device (1 on CPU)")
    ps.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    ps.add_argument("--out", default=None, help="folder for executed notebooks; notebooks/ for cpu, runs/<profile>/notebooks otherwise")
    ps.add_argument("--train-only", action="store_true",
                    help="train every run the notebooks need (sweeps first), without executing them")
    ps.add_argument("--runs-dir", default=None, help="run store; runs/<profile> when left out")
    ps.add_argument("--no-pretrain", action="store_true",
                    help="let each notebook train its own runs (otherwise they are trained first, with a line per finished run)")
    _add_executor_options(ps)
    ps.set_defaults(fn=_cmd_study)

    pe = sub.add_parser("estimate", help="predict a cold study's training time on this machine (times each shape briefly)")
    pe.add_argument("--profile", default="cpu", choices=list(PROFILES), help="run grids (scalinglaws.study.profiles)")
    pe.add_argument("--workers", type=int, default=usable_cores(),
                    help="training processes (the study runs one per core); the timing runs this many at once")
    pe.add_argument("--runs-dir", default=None, help="run store; runs/<profile> when left out (decides lr_from)")
    pe.add_argument("--csv", default=None, metavar="FILE", help="also write the per-run estimate to FILE")
    pe.add_argument("--quiet", action="store_true", help="no line per timed shape")
    pe.add_argument("--throughput", default=None, metavar="FILE",
                    help="cost the profile on another device from its measured throughput (a bench_speed.py JSON, e.g. "
                         "benchmarks/results/speed_gpu.json) instead of timing shapes here")
    pe.set_defaults(fn=_cmd_estimate)

    pq = sub.add_parser("report", help="print the results table of a profile as markdown")
    pq.add_argument("--profile", default="cpu", choices=list(PROFILES), help="whose figures/<profile>/NN_results.json")
    pq.add_argument("--table", default="claims", choices=["claims", "full", "findings"],
                    help="claims: one row per claim of the paper with a verdict (the README's); full: every quantity; findings: docs/findings.md")
    pq.add_argument("--write", default=None, metavar="FILE", help="write both tables to FILE (e.g. docs/results.md)")
    pq.set_defaults(fn=_cmd_report)

    pd_ = sub.add_parser("predict", help="predict loss, compute-optimal N and D, or a run's final loss from the scaling laws")
    pd_.add_argument("--compute", type=float, default=None, metavar="FLOPS", help="training compute C in FLOPs (e.g. 1e21)")
    pd_.add_argument("--gpu-hours", type=float, default=None, metavar="H", help="training compute as GPU-hours (with --gpu)")
    pd_.add_argument("--gpu", default=None, choices=["h100", "a100", "h200"], help="GPU for --gpu-hours (its BF16 dense peak)")
    pd_.add_argument("--mfu", type=float, default=None, metavar="F", help="model FLOPs utilisation for --gpu-hours (default 0.4)")
    pd_.add_argument("--params", type=float, default=None, metavar="N",
                     help="model size N in parameters (Kaplan and cpu: non-embedding; Chinchilla: all)")
    pd_.add_argument("--tokens", type=float, default=None, metavar="D", help="training tokens D (with --params)")
    pd_.add_argument("--run", default=None, metavar="RUN_DIR", help="a run folder (<runs-dir>/<run id>) to forecast from its learning curve")
    pd_.add_argument("--target-loss", type=float, default=None, metavar="L",
                     help="with --run: steps and tokens to reach this validation loss (nats/token)")
    pd_.add_argument("--laws", nargs="+", default=None, choices=["kaplan", "chinchilla", "cpu"],
                     help="whose laws: the papers' (default: kaplan and chinchilla) or this study's fits (cpu)")
    pd_.add_argument("--results-dir", default=None, metavar="DIR",
                     help="folder of NN_results.json for --laws cpu (default: figures/cpu of this checkout)")
    pd_.add_argument("--n-boot", type=int, default=None, metavar="B", help="bootstrap resamples for --run intervals (default 200)")
    pd_.add_argument("--json", action="store_true", help="print the report as JSON (for scripts)")
    pd_.set_defaults(fn=_cmd_predict)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except ScalingLawsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished runs are kept, and an unfinished run resumes from its last checkpoint "
              "(written at evaluations, at most every 30 s) or starts over if it had none", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
