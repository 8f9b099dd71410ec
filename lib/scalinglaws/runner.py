"""Run the study: execute the notebooks with papermill, in order, at one profile.

    scalinglaws study --profile cpu          # or: make study PROFILE=cpu
    scalinglaws study --profile quick --notebooks 01 05

The reference `cpu` profile writes executed notebooks over the committed ones in notebooks/ (so
readers see the reference outputs); other profiles write executed copies under runs/<profile>/.
Figures and NN_results.json go to figures/<profile>/ (for a store other than runs/<profile>, given as
runs_dir without figures_dir: to <runs_dir>/../figures/<profile>, never over the profile's own).
Runs already in the store are not retrained, so a second run of the study takes seconds per notebook.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from scalinglaws import ScalingLawsError
from scalinglaws import findings as FINDINGS_REGISTRY
from scalinglaws.data.paths import checkout_relative, project_root
from scalinglaws.study.plan import Study
from scalinglaws.study.profiles import get_profile

# Which notebooks exist, which run grids each reads (`study` trains these before executing the notebooks,
# printing a line per finished run, so training shows progress in the terminal), their titles and main
# figures: one registry, scalinglaws.findings.
NOTEBOOKS, NOTEBOOK_FINDINGS = FINDINGS_REGISTRY.NOTEBOOKS, FINDINGS_REGISTRY.NOTEBOOK_FINDINGS


# The parameters every study notebook declares in its tagged cell (checked by check_notebook_parameters; tests/test_notebooks.py reads each tagged cell).
NOTEBOOK_PARAMETERS = ("profile", "runs_dir", "figures_dir", "workers", "device", "seed", "corpus", "n_boot", "scale",
                       "executor")


# A notebook's own parameters besides those (07: the extra text to evaluate), by notebook number.
NOTEBOOK_EXTRA_PARAMETERS = {"07": ("eval_sets",)}


def check_notebook_parameters(namespace: dict, extra: tuple = ()) -> None:
    """First thing a study notebook does: refuse a parameter it does not know.

    papermill only warns about an unknown name ("-p profil smoke") and then runs the default profile,
    which at `cpu` trains for an hour. Injected parameters are plain values bound in the kernel's
    globals, so any such name that is not a declared parameter is a typo; one line says which."""
    plain = (str, int, float, bool, list, dict, tuple, type(None))
    known = NOTEBOOK_PARAMETERS + tuple(extra)  # extra: a notebook's own parameters (07: eval_sets)
    unknown = sorted(k for k, v in namespace.items()
                     if not k.startswith("_") and k not in known and isinstance(v, plain)
                     and k not in ("In", "Out"))
    if unknown:
        k = unknown[0]
        near = difflib.get_close_matches(k, known, n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        raise ScalingLawsError(f"unknown notebook parameter '{k}'{hint}; the parameters are: {', '.join(known)}")
    for name, (ok, want) in _PARAMETER_VALUES.items():
        if name in namespace and not ok(namespace[name]):
            raise ScalingLawsError(f"notebook parameter {name}={namespace[name]!r}: use {want}")


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _text(v) -> bool:
    return v is None or isinstance(v, str)


# The values each declared parameter accepts (check_notebook_parameters): a wrong one (-p n_boot 1.5,
# -p scale nan, a dict as corpus) is refused in the first cell, before any training; papermill would
# pass it on, and some (scale -1) only failed after the LR sweeps had trained.
_PARAMETER_VALUES = {
    "profile": (lambda v: isinstance(v, str) and v != "", "a profile name (smoke, quick, cpu, gpu)"),
    "runs_dir": (_text, "a folder (a string; '' = runs/<profile>)"),
    "figures_dir": (_text, "a folder (a string; '' = the default, see Study)"),
    "workers": (lambda v: _whole(v) and v >= 0, "a whole number >= 0 (0 = automatic)"),
    "device": (lambda v: isinstance(v, str) and v != "", "cpu, cuda, cuda:N or auto"),
    "seed": (lambda v: _whole(v) and 0 <= v < 2**32, "a whole number in [0, 2**32)"),
    "corpus": (_text, "a corpus string: gutenberg[:N], a local path or hub:<id> ('' = the profile's)"),
    "n_boot": (lambda v: _whole(v) and v >= -1, "a whole number: 0 = the profile's default, -1 = no bootstrap, else resamples"),
    # 0 / None = the profile's own token budgets (Study treats them as "not given")
    "scale": (lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0),
              "a finite number > 0 that multiplies the token budgets (0 = the profile's)"),
    "executor": (lambda v: v in ("local", "slurm"), "'local' or 'slurm'"),
}


def _study_from_parameters(p: dict):
    """The Study that a set of notebook parameters (NOTEBOOK_PARAMETERS; missing ones at their defaults) describes:
    the one a notebook binds, and the one `run_study` trains before executing the notebooks."""
    return Study(p["profile"], runs_dir=p.get("runs_dir") or None, figures_dir=p.get("figures_dir") or None,
                 workers=p.get("workers", 0), device=p.get("device", "cpu"), seed=p.get("seed", 0),
                 corpus=p.get("corpus") or None, scale=p.get("scale") or None, executor=p.get("executor", "local"))


def start_notebook(nb: str, namespace: dict, extra: tuple = ()):
    """The first cell after a study notebook's parameters: refuse an unknown parameter, bind the Study the
    parameters describe, this notebook's Results record and the plotting style; print where runs and figures
    go. Returns (study, results, n_boot) with n_boot resolved (0: the profile's default; -1: no bootstrap)."""
    # matplotlib and seaborn (seconds): `scalinglaws report` and `study` import this module and need neither.
    from scalinglaws.analysis import common as an
    from scalinglaws.analysis import plots as P

    check_notebook_parameters(namespace, tuple(extra) or NOTEBOOK_EXTRA_PARAMETERS.get(nb, ()))
    p = {k: namespace[k] for k in NOTEBOOK_PARAMETERS if k in namespace}
    study = _study_from_parameters(p)
    n_boot = p.get("n_boot", 0)
    n_boot = study.profile.n_boot if n_boot == 0 else max(n_boot, 0)
    P.set_style()
    an.readable_warnings()
    pd.set_option("display.width", 160, "display.max_columns", 30)
    print(an.smoke_banner(study))
    print(f"runs: {checkout_relative(study.runs_dir)}   figures: {checkout_relative(study.figures_dir)}")
    return study, an.Results(nb, study.figures_dir, default_seeds=f"single seed ({study.seed})"), n_boot


def _last_notebook_times(rec: Path, profile: str) -> dict[str, float]:
    """{notebook: seconds} of the last full study execution recorded beside the store (study_times.json),
    {} when there is none or it is unreadable (a time estimate is never worth a failure)."""
    try:
        d = json.loads((rec / "study_times.json").read_text())
        return {k: float(v) for k, v in d["seconds"].items() if k != "train"} if d.get("profile") == profile else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def repo_root() -> Path:
    root = project_root()
    if root is None or not (root / "notebooks").is_dir():
        raise ScalingLawsError("the study needs a checkout of the repository (notebooks/ not found)")
    return root


def _relative_papermill_paths(path: Path, final: Path) -> None:
    """papermill records where it read and wrote a notebook as absolute paths of the machine that ran it;
    a committed notebook records them relative to the checkout, and under the name it is kept as."""
    import nbformat  # the optional `notebooks` extra; only executing notebooks needs it

    if not path.exists():  # nothing was written (e.g. a stand-in executor in tests)
        return
    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("papermill", {})
    if "input_path" in meta:
        meta["input_path"] = checkout_relative(meta["input_path"])
    if "output_path" in meta:
        meta["output_path"] = checkout_relative(final)
    nbformat.write(nb, path)


def select_notebooks(names) -> list[str]:
    if not names:
        return list(NOTEBOOKS)
    out = []
    for n in names:
        known = NOTEBOOKS + FINDINGS_REGISTRY.EXERCISE_NOTEBOOKS  # exercises run only when named
        # by key ("06", "06b") or the whole stem; a key is not a prefix of another notebook ("06" is not "06b")
        hits = [nb for nb in known if FINDINGS_REGISTRY.key(nb) == n or nb == n]
        if len(hits) != 1:
            raise ScalingLawsError(f"unknown notebook '{n}': choose from {', '.join(map(FINDINGS_REGISTRY.key, known))}")
        out.append(hits[0])
    return out


def _ipc_kernel_manager():
    """The notebook kernel talks to papermill over local IPC sockets instead of TCP ports: nothing is
    exposed on the network, and ipykernel no longer prints its "running over TCP without encryption"
    warning at every notebook of a study. The sockets are files: jupyter_client's default names them
    kernel-ipc-1..5 in the working folder (notebooks/, where a killed kernel left them behind, and where two
    kernels started at once could pick the same names); here each kernel gets its own names in the
    temporary folder (short: a socket path must stay under ~100 characters)."""
    # the optional `notebooks` extra (papermill's kernel machinery); only executing notebooks needs it
    import tempfile
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self):
            return "ipc"

        @default("ip")
        def _default_ip(self):
            return os.path.join(tempfile.gettempdir(), f"scalinglaws-kernel-{uuid.uuid4().hex[:12]}")

    return IPCKernelManager


def run_study(profile: str = "cpu", notebooks=None, *, workers: int = 0, device: str = "cpu",
              out: str | None = None, runs_dir: str | None = None, figures_dir: str | None = None,
              extra_parameters: dict | None = None, log_output: bool = False, pretrain: bool | None = None,
              executor: str = "local") -> dict:
    """Execute the notebooks with papermill; returns {notebook: seconds}. Prints one line per notebook.

    pretrain: first train every run the notebooks need in as few batches as possible
    (Study.train_all), so the workers never wait at one notebook's barrier while the next notebook's
    runs could train; the notebooks then find their runs cached. Default: on when all the notebooks run."""
    import papermill as pm  # the optional `notebooks` extra, seconds to import; only this function needs it

    get_profile(profile)  # fail fast on an unknown profile
    root = repo_root()
    nbs = select_notebooks(notebooks)
    if pretrain is None:
        pretrain = True
    out_dir = Path(out) if out else (root / "notebooks" if profile == "cpu" else root / "runs" / profile / "notebooks")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):  # tried, not read off the mode bits (root passes those)
            pass
    except OSError as e:
        raise ScalingLawsError(f"cannot write executed notebooks to {out_dir} ({e.strerror or e}); "
                               "choose a folder you can write to (--out)") from None
    params = dict(profile=profile, workers=workers, device=device, executor=executor,
                  runs_dir=str(Path(runs_dir).resolve()) if runs_dir else "",
                  figures_dir=str(Path(figures_dir).resolve()) if figures_dir else "")
    params.update(extra_parameters or {})
    check_notebook_parameters(dict(params))  # a mistyped name stops here, before any training
    times: dict[str, float] = {}
    failed: list[str] = []
    t_all = time.perf_counter()
    findings = tuple(dict.fromkeys(f for nb in nbs for f in NOTEBOOK_FINDINGS.get(nb, ())))  # exercises: none
    last = _last_notebook_times(Path(runs_dir) if runs_dir else root / "runs" / profile, profile)
    if last and all(nb in last for nb in nbs):
        print(f"[study {profile}] the {len(nbs)} notebook(s) took {sum(last[nb] for nb in nbs) / 60:.1f} min at their last "
              "full execution on this store (runs/<profile>/study_times.json); training, if any, comes first", flush=True)
    if pretrain and findings:
        print(f"[study {profile}] training every run of the {len(nbs)} notebook(s) first (grids: {', '.join(findings)}; "
              f"each run prints a line with the time left) ...", flush=True)
        n = _study_from_parameters(params).train_all(findings)  # the Study every notebook will bind
        times["train"] = time.perf_counter() - t_all
        print(f"[study {profile}] {n} grid runs (besides the LR sweeps) in the store after {times['train'] / 60:.1f} min", flush=True)
    for i, nb in enumerate(nbs, 1):
        t0 = time.perf_counter()
        print(f"[study {profile}] {i}/{len(nbs)} {nb} ...", flush=True)
        # Executed into a temporary file that replaces the notebook only on success: a failed re-run must
        # never overwrite a committed, executed notebook. The failed execution is kept beside it.
        final, partial = out_dir / f"{nb}.ipynb", out_dir / f".{nb}.running.ipynb"
        failed_copy = out_dir / f"{nb}.failed.ipynb"
        try:
            pm.execute_notebook(
                str(root / "notebooks" / f"{nb}.ipynb"),
                str(partial),
                parameters=params,
                cwd=str(root / "notebooks"),
                kernel_name="python3",
                progress_bar=False,
                log_output=log_output,
                kernel_manager_class=_ipc_kernel_manager(),
            )
            _relative_papermill_paths(partial, final)
            os.replace(partial, final)
        except pm.PapermillExecutionError as e:
            # Keep going: later notebooks still train and report their runs; fail at the end.
            os.replace(partial, failed_copy)
            failed.append(f"{nb} failed in cell {e.exec_count}: {e.ename}: {e.evalue} "
                          f"(failed execution: {checkout_relative(failed_copy)}; {checkout_relative(final)} left as it was)")
            print(f"[study {profile}] {i}/{len(nbs)} FAILED: {failed[-1]}", flush=True)
        times[nb] = time.perf_counter() - t0
        if not failed or not failed[-1].startswith(f"{nb} failed"):  # a failed notebook is not "done"
            rest = nbs[i:]
            eta = (f", about {sum(last[n] for n in rest) / 60:.1f} min of notebooks left by their last execution"
                   if rest and last and all(n in last for n in rest) else "")
            print(f"[study {profile}] {i}/{len(nbs)} {nb} done in {times[nb]:.0f}s{eta}", flush=True)
    total = time.perf_counter() - t_all
    print(f"[study {profile}] all {len(nbs)} notebooks in {total / 60:.1f} min", flush=True)
    # Wall times are a record of a whole-study execution, not a result: they go beside the runs, not the
    # figures, and only when every notebook ran (re-running one section must not overwrite them).
    rec = Path(runs_dir) if runs_dir else root / "runs" / profile
    rec.mkdir(parents=True, exist_ok=True)
    if len(nbs) == len(NOTEBOOKS):
        # "train" (when present): Study.train_all before the notebooks, which then only read and fit
        (rec / "study_times.json").write_text(json.dumps({"profile": profile, "seconds": times, "total_s": total,
                                                          "failed": failed}, indent=1, sort_keys=True) + "\n")
    if failed:
        raise ScalingLawsError(f"{len(failed)} notebook(s) failed; first: {failed[0]}")
    return times
