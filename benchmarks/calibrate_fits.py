"""Recorded check: do the fits' 95 % bootstrap intervals cover the truth often enough?

    .venv/bin/python benchmarks/calibrate_fits.py            # all laws, full sizes (~25 min on an AMD EPYC, 2 cores)
    .venv/bin/python benchmarks/calibrate_fits.py --laws kaplan_nd

For every law in tests/test_fit.py's CALIBRATION table: draw its synthetic studies (fixed seeds, known
constants, ~1.5 % loss noise), fit each with the bootstrap, and count how often the interval contains the
truth. Writes benchmarks/results/fit_calibration.json (coverage per parameter, seeds, resamples, seconds
per law, the machine). The test suite runs a tenth of this (10 seeds, 60 resamples per law) and checks
that the recorded full run meets the thresholds (tests/test_fit.py::test_recorded_full_calibration_...).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the generators and thresholds live with the tests that use them

import test_fit as T  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import cpu_model  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--laws", nargs="*", default=list(T.CALIBRATION), choices=list(T.CALIBRATION))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fit_calibration.json"))
    a = ap.parse_args(argv)
    rows, ok = [], True
    for law in a.laws:
        _, seeds, n_boot, _ = T.CALIBRATION[law]
        t0 = time.perf_counter()
        cov = T.calibration_coverage(law, seeds, n_boot)
        took = time.perf_counter() - t0
        need = {k: T.MIN_COVERAGE.get((law, k), 0.8) for k in cov}
        passed = all(cov[k] >= need[k] for k in cov)
        ok &= passed
        rows.append({"law": law, "seeds": seeds, "n_boot": n_boot, "coverage": cov, "min_coverage": need,
                     "passed": passed, "seconds": round(took, 1)})
        print(f"{law:22s} {seeds:3d} seeds x {n_boot:3d} resamples  {took:6.1f}s  "
              + ", ".join(f"{k}={v:.2f}" for k, v in cov.items()) + ("" if passed else "  BELOW THRESHOLD"), flush=True)
    if set(a.laws) == set(T.CALIBRATION):
        Path(a.out).write_text(json.dumps({"what": "95% bootstrap CI coverage on synthetic studies (tests/test_fit.py)",
                                           "machine": {"cpu": cpu_model(), "python": platform.python_version()},
                                           "date": time.strftime("%Y-%m-%d"), "laws": rows}, indent=1) + "\n")
        print(f"wrote {a.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
