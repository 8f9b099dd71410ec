#!/usr/bin/env python
"""Give each finished run of a store trained before checksums a checksums.json, recomputing nothing.

    python scripts/migrate_checksums.py runs/cpu [more stores...]

A run is stamped only after its files agree with each other (run_folder.check_consistency: the summary's
final loss is the last evaluation's, its best loss the lowest one and best_step that evaluation's step,
its steps the last step, its token counts steps x tokens per step, DONE its status, metrics_sha256 where the
summary has one; and the sidecars are the files evals.json names). Then the SHA-256 of what is there is
written, exactly as a run trained now writes it before DONE. A run that fails is reported and left
unstamped, so every read refuses it until it is trained again or restored: never blessed.

Idempotent: a run that already has checksums.json is only verified (and reported if it no longer matches).
Unfinished runs (no DONE) are not results and are skipped. Exit status 1 if any run was refused.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))  # this checkout's package

from scalinglaws import ScalingLawsError  # noqa: E402
from scalinglaws.data.paths import file_lock  # noqa: E402
from scalinglaws.training.run_folder import (  # noqa: E402
    CHECKSUMS_FILE,
    CorruptRunError,
    check_consistency,
    check_sidecars,
    is_done,
    read_sidecars,
    read_verified,
    refuse_links,
    write_checksums,
)


@dataclass
class Migration:
    """What migrate did to one store: run ids by outcome (refused: (run id, why))."""

    store: Path
    stamped: list = field(default_factory=list)
    already: list = field(default_factory=list)
    unfinished: list = field(default_factory=list)
    refused: list = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.store}: {len(self.stamped)} stamped, {len(self.already)} already had checksums (verified), "
               f"{len(self.refused)} refused, {len(self.unfinished)} unfinished (skipped)"]
        out += [f"  refused {rid}: {why}" for rid, why in self.refused]
        return out


def _verify(run_dir: Path) -> None:
    read_verified(run_dir)
    read_sidecars(run_dir)


def stamp(run_dir: Path) -> bool:
    """Check one finished run and write its checksums.json; False if it already had one (then verified).
    Raises CorruptRunError (nothing written) when its files disagree."""
    refuse_links(run_dir)
    with file_lock(run_dir / ".lock", waiting=f"run {run_dir.name}"):  # evaluate_run writes under the same lock
        if (run_dir / CHECKSUMS_FILE).exists() or (run_dir / CHECKSUMS_FILE).is_symlink():
            _verify(run_dir)
            return False
        check_consistency(run_dir)
        check_sidecars(run_dir)
        write_checksums(run_dir)
        _verify(run_dir)  # what every later read does
        return True


def migrate(store: Path) -> Migration:
    store = Path(store)
    if not store.is_dir():
        raise ScalingLawsError(f"no run store at {store} (give the folder of the run folders, e.g. runs/cpu)")
    m = Migration(store)
    for rd in sorted(p for p in store.iterdir() if p.is_dir() or p.is_symlink()):
        if not (rd / "config.json").exists() and not is_done(rd):
            continue  # not a run folder
        if not is_done(rd):
            m.unfinished.append(rd.name)
            continue
        try:
            (m.stamped if stamp(rd) else m.already).append(rd.name)
        except (CorruptRunError, ScalingLawsError) as e:
            m.refused.append((rd.name, str(e)))
    return m


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stores", nargs="+", type=Path, help="run store folders, e.g. runs/cpu")
    a = ap.parse_args(argv)
    refused = 0
    for store in a.stores:
        try:
            m = migrate(store)
        except ScalingLawsError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print("\n".join(m.lines()))
        refused += len(m.refused)
    if refused:
        print(f"{refused} run(s) refused: they stay unstamped and every read refuses them; delete each and train it "
              "again (rm -r <store>/<run id>), or restore it from git (git checkout -- <store>/<run id>)",
              file=sys.stderr)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
