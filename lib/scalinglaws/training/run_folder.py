"""The run-folder format, and every check a reader makes before trusting one.

``<runs_dir>/<spec.run_id>/``: ``config.json`` (spec, derived quantities, versions, corpus), ``metrics.jsonl``
(one row per eval), ``summary.json`` (final and best loss, status), the sidecars ``evals.jsonl``,
``positions.json``, ``evals.json``, ``checksums.json`` (SHA-256 of each), then ``DONE``. Readers refuse links,
files that are not plain files, names outside the format, a checksum that does not match and a summary that
disagrees with its metrics, each with one line naming the run and the fix. Torch-free.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

from scalinglaws import ScalingLawsError
from scalinglaws.training.spec import RunSpec

# Sidecar files of a run folder (see the module docstring).
EVALS_FILE, POSITIONS_FILE, EVALS_SUMMARY = "evals.jsonl", "positions.json", "evals.json"
SIDECAR_FILES = (EVALS_FILE, POSITIONS_FILE)  # the only names evals.json may list (read_sidecars)
# The checksums of a finished run (write_checksums), and the files they cover: all a reader of the run uses.
CHECKSUMS_FILE = "checksums.json"
RESULT_FILES = ("config.json", "metrics.jsonl", "summary.json")  # read_verified compares these
SIDECAR_NAMES = (EVALS_SUMMARY, *SIDECAR_FILES)  # read_sidecars compares these
CHECKED_FILES = RESULT_FILES + SIDECAR_NAMES
# Every file the store keeps in a run folder (loop.py's docstring); none of them, nor their .tmp, may be a link.
RUN_FILES = ("config.json", "metrics.jsonl", "summary.json", "DONE", "ckpt.pt", EVALS_FILE, POSITIONS_FILE,
             EVALS_SUMMARY, CHECKSUMS_FILE, "model.safetensors", ".lock")


class LinkError(ScalingLawsError):
    """A run folder, or a file the store keeps in one, that is a symbolic link: training refuses it rather
    than write through the link to wherever it points."""


def _link_error(path: Path) -> LinkError:
    return LinkError(f"{path} is a symbolic link (to {os.readlink(path)}); the store never writes through links: "
                     f"remove the link (rm {path}) and run again")


def tmp_path(path: Path) -> Path:
    """Where a file of a run folder is written before it is renamed over `path`."""
    return path.with_name(path.name + ".tmp")


def refuse_links(run_dir: Path) -> None:
    """LinkError if run_dir, or any file the store keeps in it (RUN_FILES) or its .tmp, is a symbolic link.
    Called before a run folder is trained or evaluated into (and before its lock file is opened)."""
    run_dir = Path(run_dir)
    for path in (run_dir, *(run_dir / n for n in RUN_FILES), *(tmp_path(run_dir / n) for n in RUN_FILES)):
        if path.is_symlink():
            raise _link_error(path)


def writable(path: Path) -> Path:
    """`path` (a file of a run folder), after checking that neither it, nor its .tmp, nor the folder is a
    symbolic link (LinkError): every write of the store goes through here."""
    path = Path(path)
    for p in (path.parent, path, tmp_path(path)):
        if p.is_symlink():
            raise _link_error(p)
    return path


def write_json_atomic(path: Path, obj, *, lines: bool = False) -> None:
    """Write JSON (or JSON lines) to a temporary file and rename it over `path`: never half a file."""
    path = writable(path)
    tmp = tmp_path(path)
    # O_NOFOLLOW: a link planted at the .tmp name after the check above fails the write instead of being followed
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666)
    with os.fdopen(fd, "w") as fh:
        if lines:
            for row in obj:
                fh.write(json.dumps(row) + "\n")
        else:
            json.dump(obj, fh, indent=1, sort_keys=True)
            fh.write("\n")
    os.replace(tmp, path)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def is_done(run_dir: Path) -> bool:
    return (Path(run_dir) / "DONE").exists()


class CorruptRunError(ScalingLawsError):
    """A finished run folder whose files do not agree with each other (see verify_run)."""


def plain_file(run_dir: Path, name: str) -> Path:
    """run_dir/name, after checking that it is a plain file (CorruptRunError if it is a symbolic link, a
    folder, a pipe or a device: nothing a run writes, and reading one could read a file elsewhere or
    never end). A missing file is left to the caller to report."""
    path = Path(run_dir) / name
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return path
    if stat.S_ISLNK(mode):
        raise CorruptRunError(f"{name} is a symbolic link (to {os.readlink(path)}), not a file the run wrote")
    if not stat.S_ISREG(mode):
        raise CorruptRunError(f"{name} is not a plain file (a folder, pipe or device), so not a file the run wrote")
    return path


def read_summary(run_dir: Path) -> dict:
    return json.loads(plain_file(run_dir, "summary.json").read_text())


def read_metrics(run_dir: Path) -> list[dict]:
    path = plain_file(run_dir, "metrics.jsonl")
    rows = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise CorruptRunError(f"{path} line {i} is not JSON ({e.msg})") from None
    return rows


def verify_run(run_dir: Path) -> str:
    """Why a DONE run folder cannot be trusted (see read_verified and read_sidecars: its files agree with each
    other and with their checksums; for a cooldown branch also its link to its trunk, branch_problem), or ""."""
    try:
        read_verified(run_dir)
        read_sidecars(run_dir)
    except CorruptRunError as e:
        return str(e)
    return branch_problem(run_dir)


def write_sidecars(run_dir: Path, *, run_id: str, rows: list[dict], sets: dict, positions: dict | None,
                   weights_sha256: str | None) -> None:
    """Write evals.jsonl (rows {step, tokens, set, loss}), positions.json (when given) and last evals.json:
    what each set is (sets[name]: kind, source, its hash, tokens, windows, when evaluated), the SHA-256 of
    the other two files, and of the kept weights (model.safetensors, not in the published store).
    On a finished run (evaluate.evaluate_run adding sets) its other files are verified first and its
    checksums.json is then written again, so the checksums follow the new sidecars and never bless an
    edit made to the rest of the folder."""
    run_dir = Path(run_dir)
    finished = is_done(run_dir)
    if finished:
        verify_checksums(run_dir, RESULT_FILES)
    write_json_atomic(run_dir / EVALS_FILE, rows, lines=True)
    files = {EVALS_FILE: file_sha256(run_dir / EVALS_FILE)}
    if positions is not None:
        write_json_atomic(run_dir / POSITIONS_FILE, positions)
        files[POSITIONS_FILE] = file_sha256(run_dir / POSITIONS_FILE)
    write_json_atomic(run_dir / EVALS_SUMMARY, {"run_id": run_id, "sets": sets, "files": files,
                                                "weights_sha256": weights_sha256})
    if finished:
        write_checksums(run_dir)


def read_sidecars(run_dir: Path) -> dict | None:
    """evals.json of a run, after checking that evals.jsonl and positions.json are the files it names
    and, for a finished run, that all three are the files its checksums.json names (CorruptRunError if
    not); None for a run without sidecars."""
    run_dir = Path(run_dir)
    summ = check_sidecars(run_dir)
    if is_done(run_dir):  # also when evals.json is gone: a deleted sidecar is caught, not read as "none"
        verify_checksums(run_dir, SIDECAR_NAMES)
    return summ


def check_sidecars(run_dir: Path) -> dict | None:
    """evals.json of a run, after checking that evals.jsonl and positions.json are the files it names
    (CorruptRunError if not); None for a run trained before sidecars existed. Checks no checksums.json
    (read_sidecars does)."""
    run_dir = Path(run_dir)
    path = plain_file(run_dir, EVALS_SUMMARY)
    if not path.exists():
        return None
    try:
        summ = json.loads(path.read_text())
        if summ.get("run_id") != run_dir.name:
            raise CorruptRunError(f"{EVALS_SUMMARY} names run {summ.get('run_id')!r}, not this folder's {run_dir.name!r}")
        for name, sha in summ["files"].items():
            if file_sha256(plain_file(run_dir, _sidecar_name(run_dir, name))) != sha:
                raise CorruptRunError(f"{name} differs from the file the run wrote (its checksum in {EVALS_SUMMARY} "
                                      "does not match); evaluate.evaluate_run rewrites it from kept weights")
    except (OSError, json.JSONDecodeError, KeyError, AttributeError) as e:
        raise CorruptRunError(f"sidecars unreadable: {e.__class__.__name__}: {e}") from None
    return summ


def _sidecar_name(run_dir: Path, name) -> str:
    """`name` as listed in run_dir's evals.json, if it is one of the sidecar files (SIDECAR_FILES): never a
    path, so no index can make a check open a file outside the run folder (/etc/..., /dev/zero, ../x)."""
    if name not in SIDECAR_FILES:
        raise CorruptRunError(f"run {run_dir.name} in {run_dir.parent}: {EVALS_SUMMARY} lists {str(name)[:80]!r}, "
                              f"which is not a sidecar file ({' or '.join(SIDECAR_FILES)}), so the folder was "
                              f"altered; delete it and train the run again (rm -r {run_dir})")
    return name


# --- checksums.json -----------------------------------------------------------------------------

def write_checksums(run_dir: Path) -> None:
    """checksums.json: the SHA-256 of each file of CHECKED_FILES the run folder holds. Written last before
    DONE (loop.finish_run), after a finished run gains sidecars (write_sidecars), and by
    scripts/migrate_checksums.py for a run trained before checksums, once it agrees with its metrics."""
    run_dir = Path(run_dir)
    files = {n: file_sha256(plain_file(run_dir, n)) for n in CHECKED_FILES if plain_file(run_dir, n).exists()}
    write_json_atomic(run_dir / CHECKSUMS_FILE, {"run_id": run_dir.name, "algorithm": "sha256", "files": files})


def read_checksums(run_dir: Path) -> dict[str, str]:
    """{file name: SHA-256} of a run's checksums.json, after checking that it is one (names only files of
    CHECKED_FILES, never a path, and this folder's run). CorruptRunError if it is missing or malformed."""
    run_dir = Path(run_dir)
    path = plain_file(run_dir, CHECKSUMS_FILE)
    if not path.exists():
        raise CorruptRunError(f"it has no {CHECKSUMS_FILE}, so its files cannot be verified (a run trained before "
                              f"checksums: python scripts/migrate_checksums.py {run_dir.parent} checks it against its "
                              "metrics and adds them)")
    try:
        doc = json.loads(path.read_text())
        files, rid, algo = doc["files"], doc.get("run_id"), doc.get("algorithm")
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
        raise CorruptRunError(f"{CHECKSUMS_FILE} unreadable: {e.__class__.__name__}") from None
    if rid != run_dir.name or algo != "sha256" or not isinstance(files, dict):
        raise CorruptRunError(f"{CHECKSUMS_FILE} names run {rid!r} (algorithm {algo!r}), not this folder's "
                              f"{run_dir.name!r} (sha256)")
    for name, sha in files.items():
        if name not in CHECKED_FILES:  # never a path: no index can make a check open a file elsewhere
            raise CorruptRunError(f"{CHECKSUMS_FILE} lists {str(name)[:80]!r}, which is not a file of a run")
        if not (isinstance(sha, str) and len(sha) == 64):
            raise CorruptRunError(f"{CHECKSUMS_FILE} holds no SHA-256 for {name}")
    return files


def verify_checksums(run_dir: Path, names=CHECKED_FILES) -> None:
    """CorruptRunError unless each file of `names` is the file checksums.json names (same SHA-256) and the
    folder holds exactly the files of CHECKED_FILES that it lists (none added, none removed)."""
    run_dir = Path(run_dir)
    files = read_checksums(run_dir)
    for name in CHECKED_FILES:
        present = plain_file(run_dir, name).exists()
        if present and name not in files:
            raise CorruptRunError(f"{name} was added after the run finished (it is not in {CHECKSUMS_FILE})")
        if name in files and not present:
            raise CorruptRunError(f"{name} is missing ({CHECKSUMS_FILE} lists it: the run wrote it)")
    for name in names:
        if name in files and file_sha256(run_dir / name) != files[name]:
            raise CorruptRunError(f"{name} differs from the file the run wrote (its checksum in {CHECKSUMS_FILE} "
                                  "does not match)")


def recorded_eval_sets(run_dir: Path) -> list[str]:
    summ = read_sidecars(run_dir)
    return list(summ["sets"]) if summ else []


def read_evals(run_dir: Path) -> list[dict]:
    """The extra eval sets' rows {step, tokens, set, loss} of a run (checked; [] when it has none)."""
    if read_sidecars(run_dir) is None:
        return []
    return [json.loads(line) for line in plain_file(run_dir, EVALS_FILE).read_text().splitlines() if line.strip()]


def read_positions(run_dir: Path) -> dict | None:
    """positions.json of a run (checked): {step, tokens, n_ctx, windows: {set: n}, losses: {set: [loss at
    positions 1..n_ctx]}} with set "val" for the validation split; None when it has none (trained before
    sidecars, or diverged)."""
    summ = read_sidecars(run_dir)
    if summ is None or POSITIONS_FILE not in summ["files"]:
        return None
    return json.loads(plain_file(run_dir, POSITIONS_FILE).read_text())


def read_spec(run_dir: Path) -> RunSpec:
    """The RunSpec a run folder was trained from (its config.json)."""
    return RunSpec.from_dict(json.loads(plain_file(run_dir, "config.json").read_text())["spec"])


def read_verified(run_dir: Path) -> tuple[dict, list[dict]]:
    """(summary, metrics rows) of a DONE run folder whose files agree with each other (check_consistency)
    and with its checksums.json (verify_checksums; the sidecars are compared where they are read, by
    read_sidecars). Raises CorruptRunError saying what disagrees.
    A run cut short by a crash has no DONE and is not a result at all; this catches what happens to a
    folder after DONE (an edit by hand, truncation, a bad copy)."""
    summ, rows = check_consistency(run_dir)
    # Last, as it says least about what is wrong: it catches an edit inside the curve that leaves its end,
    # its minimum and every cross-checked number intact.
    verify_checksums(run_dir, RESULT_FILES)
    return summ, rows


def check_consistency(run_dir: Path) -> tuple[dict, list[dict]]:
    """(summary, metrics rows) of a DONE run folder, after checking that config.json and summary.json parse
    and name this folder's run, every metrics line parses, DONE holds the summary's status, the summary's
    numbers are those of metrics.jsonl (check_summary) and metrics.jsonl is the file whose SHA-256 the
    summary records (runs trained since that was added). Does not read checksums.json: what
    scripts/migrate_checksums.py checks before it stamps a run."""
    run_dir = Path(run_dir)
    if run_dir.is_symlink():
        raise CorruptRunError(f"the run folder is a symbolic link (to {os.readlink(run_dir)}), "
                              "not a folder of this store")
    try:
        done = plain_file(run_dir, "DONE").read_text().strip()
        summ = read_summary(run_dir)
        cfg = json.loads(plain_file(run_dir, "config.json").read_text())
        for name, rid in (("config.json", cfg.get("run_id")), ("summary.json", summ.get("run_id"))):
            if rid != run_dir.name:
                raise CorruptRunError(f"{name} names run {rid!r}, not this folder's {run_dir.name!r}")
        rows = read_metrics(run_dir)
    except (OSError, json.JSONDecodeError, AttributeError) as e:
        raise CorruptRunError(f"unreadable: {e.__class__.__name__}: {e}") from None
    try:
        tokens_per_step = RunSpec.from_dict(cfg["spec"]).tokens_per_step
    except (KeyError, TypeError, ValueError, ScalingLawsError) as e:
        raise CorruptRunError(f"config.json holds no run spec ({e.__class__.__name__}: {e})") from None
    if done != summ.get("status"):
        raise CorruptRunError(f"DONE says {done[:40]!r} but summary.json says the status is {summ.get('status')!r}")
    check_summary(summ, rows, tokens_per_step)
    if summ.get("metrics_sha256") and file_sha256(plain_file(run_dir, "metrics.jsonl")) != summ["metrics_sha256"]:
        raise CorruptRunError("metrics.jsonl differs from the file the run wrote (its checksum in summary.json "
                              "does not match)")
    return summ, rows


SUMMARY_NUMBERS = ("steps", "tokens", "final_val_loss", "best_val_loss", "best_step", "best_tokens")


def check_summary(summ: dict, rows: list[dict], tokens_per_step: int) -> None:
    """CorruptRunError unless summary.json's numbers are what metrics.jsonl says (as loop._summary computes
    them): the final loss is the last evaluation's, the best loss the lowest one (its step the first that
    reached it), steps the last evaluated step (a diverged run may have gone on a little), and every token
    count steps x tokens per step. Each metrics row's step and token count are checked on the way."""
    if missing := [k for k in SUMMARY_NUMBERS if k not in summ]:
        raise CorruptRunError(f"summary.json lacks {', '.join(missing)}")
    prev = 0
    for i, r in enumerate(rows, 1):
        step, loss = r.get("step"), r.get("val_loss")
        ok = type(step) is int and step > prev and isinstance(loss, (int, float))
        if not (ok and r.get("tokens") == step * tokens_per_step):
            raise CorruptRunError(f"metrics.jsonl line {i} is no evaluation of this run (its step must exceed the one "
                                  f"before, its tokens be step x {tokens_per_step}, its val_loss a number)")
        prev = step
    last = rows[-1] if rows else None
    if summ["final_val_loss"] is None and last is not None:
        raise CorruptRunError("summary has no final loss but metrics.jsonl has evaluations")
    if summ["final_val_loss"] is not None and last is None:
        raise CorruptRunError(f"metrics.jsonl is empty but the summary says the run reached step {summ['steps']}")
    if last is not None:
        if summ.get("status") != "diverged" and last["step"] != summ["steps"]:
            raise CorruptRunError(f"metrics.jsonl ends at step {last['step']} but the summary says the run ended "
                                  f"at step {summ['steps']}")
        if last["val_loss"] != summ["final_val_loss"]:
            raise CorruptRunError(f"the last evaluation's loss ({last['val_loss']}) is not the summary's final "
                                  f"loss ({summ['final_val_loss']})")
    best = min(rows, key=lambda r: r["val_loss"]) if rows else {"val_loss": None, "step": 0}  # min: the first lowest
    if (summ["best_val_loss"], summ["best_step"]) != (best["val_loss"], best["step"]):
        raise CorruptRunError(f"summary.json's best loss {summ['best_val_loss']} at step {summ['best_step']} is not "
                              f"the lowest in metrics.jsonl ({best['val_loss']} at step {best['step']})")
    for key, step_key in (("tokens", "steps"), ("best_tokens", "best_step")):
        if not isinstance(summ[step_key], int) or summ[key] != summ[step_key] * tokens_per_step:
            raise CorruptRunError(f"summary.json's {key} ({summ[key]}) is not its {step_key} ({summ[step_key]}) x "
                                  f"{tokens_per_step} tokens per step")


def read_checked(run_dir: Path) -> tuple[dict, list[dict]]:
    """read_verified, with the run, its store and the fix in the error: what a notebook stops with."""
    try:
        return read_verified(run_dir)
    except CorruptRunError as e:
        raise CorruptRunError(f"run {run_dir.name} in {run_dir.parent} is corrupt: {e}. "
                              f"{repair_hint(run_dir)}") from None


# summary.json["branch"]["start"] of a branch: where its stable phase came from.
FROM_PARENT, RECOMPUTED = "parent checkpoint", "recomputed"


def checkpoint_name(step: int) -> str:
    """The file a trunk keeps at a branch point (in its own folder)."""
    return f"ckpt_step{int(step)}.pt"


def branch_problem(run_dir: Path) -> str:
    """Why a DONE branch's link to its trunk cannot be trusted, or "" (also for a run that is no branch).
    config.json's spec names the trunk and step; summary.json says where the stable phase came from, and
    a branch that started from the trunk's checkpoint needs the trunk in the same store, DONE or holding
    that checkpoint. Torch-free; reads only config.json, summary.json and the trunk folder's listing."""
    run_dir = Path(run_dir)
    try:
        spec = json.loads(plain_file(run_dir, "config.json").read_text())["spec"]
        if not spec.get("branch_from"):
            return ""
        link = json.loads(plain_file(run_dir, "summary.json").read_text()).get("branch")
    except (OSError, json.JSONDecodeError, KeyError, TypeError, CorruptRunError) as e:
        return f"branch record unreadable: {e.__class__.__name__}: {e}"
    parent, step = spec["branch_from"], spec.get("branch_step")
    if not isinstance(link, dict):
        return f"config.json names trunk {parent} but summary.json records no branch start"
    if (link.get("parent"), link.get("step")) != (parent, step):
        return (f"config.json names trunk {parent} at step {step} but summary.json says trunk {link.get('parent')} "
                f"at step {link.get('step')}: the folder was altered")
    if link.get("start") == RECOMPUTED:
        return ""
    if link.get("start") != FROM_PARENT:
        return f"summary.json's branch start {link.get('start')!r} is neither {FROM_PARENT!r} nor {RECOMPUTED!r}"
    trunk = run_dir.parent / str(parent)
    if not str(parent).isalnum() or trunk.is_symlink() or not trunk.is_dir():
        return (f"started from trunk {parent}'s checkpoint at step {step}, but there is no run {parent} in "
                f"{run_dir.parent}; copy the trunk with its branches, or retrain the branch (rm -r {run_dir})")
    if not (is_done(trunk) or (trunk / checkpoint_name(step)).is_file()):
        return f"trunk {parent} is neither done nor holds {checkpoint_name(step)}, which the branch started from"
    return ""


def repair_hint(run_dir: Path) -> str:
    """How to get a run folder that cannot be trusted back: train it again, or take the published copy."""
    return (f"Delete the folder and run again to re-train it (rm -r {run_dir}), or restore it from git if the "
            f"store is committed (git checkout -- {run_dir})")
