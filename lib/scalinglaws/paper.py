"""Published constants (Kaplan et al. 2020; Hoffmann et al. 2022) and the Chinchilla anchor data.

Every constant is a `Constant` record carrying its value, units and the place in the paper it
comes from, so a notebook can print our fit beside theirs:

    >>> from scalinglaws import paper
    >>> paper.KAPLAN["alpha_N"].value
    0.076
    >>> paper.constant("chinchilla.E").source
    'Hoffmann 2022, Sec. 3.3, Eq. 10'

Units follow the papers: Kaplan's N counts *non-embedding* parameters, D and B are in tokens,
S in optimiser steps, C in PF-days (1 PF-day = 1e15 * 24 * 3600 = 8.64e19 FLOP) and losses in
nats per token. Chinchilla's N counts all parameters and its compute is in FLOP (C = 6 N D).

The anchor data (`load_chinchilla_points`) are read from the shared folder described in
/work/shared/anchors/README.md; they are not copied into the repository.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import scalinglaws
from scalinglaws import ScalingLawsError

__all__ = [
    "Constant",
    "KAPLAN",
    "CHINCHILLA",
    "EPOCH",
    "ALL",
    "constant",
    "table",
    "PF_DAY_FLOP",
    "ANCHORS_ENV",
    "CHINCHILLA_POINTS_FILE",
    "CHINCHILLA_POINTS_SHA256",
    "anchors_dir",
    "load_chinchilla_points",
]

# One PF-day in FLOP: 1e15 FLOP/s for 24 hours. Kaplan quotes compute in PF-days.
PF_DAY_FLOP = 1e15 * 24 * 3600


@dataclass(frozen=True)
class Constant:
    """One published number with its provenance."""

    name: str
    value: float
    source: str
    units: str = ""
    note: str = ""

    def __float__(self) -> float:
        return float(self.value)

    def record(self) -> dict:
        return {
            "name": self.name,
            "value": self.value,
            "units": self.units,
            "source": self.source,
            "note": self.note,
        }


def _table(*constants: Constant) -> dict[str, Constant]:
    out: dict[str, Constant] = {}
    for c in constants:
        if c.name in out:  # pragma: no cover - guards against a typo when editing the tables
            raise ValueError(f"duplicate constant {c.name}")
        out[c.name] = c
    return out


_K = "Kaplan 2020"
_NONEMB = "parameters (non-embedding)"

KAPLAN: dict[str, Constant] = _table(
    # --- Single-variable laws, Sec. 1.2 Eqs. 1.1-1.3, repeated in Table 5 (Appendix A summary).
    Constant("alpha_N", 0.076, f"{_K}, Eq. 1.1 / Table 5", "", "L(N) = (N_c/N)^alpha_N"),
    Constant("N_c", 8.8e13, f"{_K}, Eq. 1.1 / Table 5", _NONEMB),
    Constant("alpha_D", 0.095, f"{_K}, Eq. 1.2 / Table 5", "", "L(D) = (D_c/D)^alpha_D, early stopping"),
    Constant("D_c", 5.4e13, f"{_K}, Eq. 1.2 / Table 5", "tokens"),
    Constant(
        "alpha_C_min", 0.050, f"{_K}, Eq. 1.3 / Table 5", "", "L(C_min) = (C_c^min/C_min)^alpha_C^min"
    ),
    Constant("C_c_min", 3.1e8, f"{_K}, Eq. 1.3 / Table 5", "PF-days"),
    # Eq. 1.8 predicts alpha_C^min = 1/(1/alpha_S + 1/alpha_B + 1/alpha_N) from the other exponents.
    Constant("alpha_C_min_predicted", 0.054, f"{_K}, Eq. 1.8", "", "from alpha_S, alpha_B, alpha_N"),
    # Fixed-batch-size compute law (Sec. 3.3 / Table 5); the C_min law above is the headline one.
    Constant("alpha_C", 0.057, f"{_K}, Sec. 3.3 / Table 5", "", "L(C) at fixed batch size"),
    Constant("C_c", 1.6e7, f"{_K}, Sec. 3.3 / Table 5", "PF-days"),
    # --- Critical batch size, Eq. 1.4 / Eq. 5.3 (Table 5 rounds B* to 2.1e8).
    Constant("B_star", 2e8, f"{_K}, Eq. 1.4 / Eq. 5.3", "tokens", "B_crit(L) = B*/L^(1/alpha_B); Table 5: 2.1e8"),
    Constant("alpha_B", 0.21, f"{_K}, Eq. 1.4 / Table 5", ""),
    # --- L(N, D), Eq. 1.5 fitted in Sec. 4.2, constants of Table 2.
    Constant("nd_alpha_N", 0.076, f"{_K}, Eq. 1.5 / Table 2", ""),
    Constant("nd_alpha_D", 0.103, f"{_K}, Eq. 1.5 / Table 2", ""),
    Constant("nd_N_c", 6.4e13, f"{_K}, Eq. 1.5 / Table 2", _NONEMB),
    Constant("nd_D_c", 1.8e13, f"{_K}, Eq. 1.5 / Table 2", "tokens"),
    # --- L(N, S_min), Eq. 1.6 fitted in Sec. 5.2, constants of Table 3.
    Constant("ns_alpha_N", 0.077, f"{_K}, Eq. 1.6 / Table 3", ""),
    Constant("ns_alpha_S", 0.76, f"{_K}, Eq. 1.6 / Table 3", ""),
    Constant("ns_N_c", 6.5e13, f"{_K}, Eq. 1.6 / Table 3", _NONEMB),
    Constant("ns_S_c", 2.1e3, f"{_K}, Eq. 1.6 / Table 3", "steps"),
    # alpha_S also appears in the Table 5 summary.
    Constant("alpha_S", 0.76, f"{_K}, Eq. 1.6 / Table 5", ""),
    Constant("S_c", 2.1e3, f"{_K}, Eq. 1.6 / Table 5", "steps"),
    # --- Compute-efficient allocation, Eq. 1.7 (empirical exponents of Sec. 6.1, Fig. 14).
    Constant("N_opt_exponent", 0.73, f"{_K}, Eq. 1.7 / Sec. 6.1 (Fig. 14)", "", "N_opt ∝ C_min^0.73"),
    Constant("B_opt_exponent", 0.24, f"{_K}, Eq. 1.7 / Sec. 6.1", "", "B ∝ C_min^0.24"),
    Constant("S_opt_exponent", 0.03, f"{_K}, Eq. 1.7 / Sec. 6.1 (Fig. 14)", "", "S_min ∝ C_min^0.03"),
    Constant("D_opt_exponent", 0.27, f"{_K}, Sec. 6.1 (D = B S)", "", "D ∝ C_min^0.27 = 0.24 + 0.03"),
    # Coefficients of the same allocation, X = X_e · C_min^p_X with C_min in PF-days (Appendix A, Table 6;
    # N_e and S_e are also the legends of Fig. 14). Sec. 6.1's text gives only the proportionalities.
    Constant("N_opt_coef", 1.3e9, f"{_K}, Table 6 / Fig. 14 (left)", _NONEMB,
             "N_opt = 1.3e9 · C_min^0.73, C_min in PF-days"),
    Constant("B_opt_coef", 2.0e6, f"{_K}, Table 6", "tokens",
             "B ≪ B_crit = 2.0e6 · C_min^0.24 tokens per step, C_min in PF-days"),
    Constant("S_opt_coef", 5.4e3, f"{_K}, Table 6 / Fig. 14 (right)", "steps",
             "S_min = 5.4e3 · C_min^0.03 (a lower bound), C_min in PF-days"),
    Constant("D_opt_coef", 2e10, f"{_K}, Table 6", "tokens",
             "D_opt = 2e10 · C_min^0.27 (1 epoch), C_min in PF-days. Not B_e·S_e (= 1.1e10): it matches "
             "2·C_min/(6·N_opt) = 2.2e10, i.e. training at the critical batch size (C ≈ 2 C_min); "
             "Sec. 6.3 Eq. 6.7 writes the same quantity as 4e10 · C_min^0.26, inconsistent with Table 6"),
    # Where the fits were made (Sec. 3, list of factors varied): predictions outside are extrapolations.
    Constant("N_min_studied", 768, f"{_K}, Sec. 3", _NONEMB, "smallest model (768 to 1.5 billion)"),
    Constant("N_max_studied", 1.5e9, f"{_K}, Sec. 3", _NONEMB, "largest model"),
    Constant("D_min_studied", 22e6, f"{_K}, Sec. 3", "tokens", "smallest dataset (22 million to 23 billion tokens)"),
    Constant("D_max_studied", 23e9, f"{_K}, Sec. 3", "tokens", "largest dataset"),
    # --- Overfitting, Sec. 4.2 Eq. 4.4: data needed to avoid overfitting grows sublinearly.
    Constant("D_over_N_exponent", 0.74, f"{_K}, Sec. 4.2, Eq. 4.4", "", "D ∝ N^(alpha_N/alpha_D) ≈ N^0.74"),
    Constant(
        "overfit_D_coef",
        5e3,
        f"{_K}, Sec. 4.2, Eq. 4.4",
        "tokens",
        "D ≳ 5e3 · N^0.74 keeps the overfitting penalty below ~2%",
    ),
)

_H = "Hoffmann 2022"
# Where the unrounded Approach 3 fit is published: the arXiv TeX source of Hoffmann et al. (the PDF prints it
# rounded), as quoted by Besiroglu et al. 2024 (abstract; their notebook data_analysis.ipynb, cell 16,
# `true_params`, github.com/epoch-research/analyzing-chinchilla).
_UNROUNDED = f"{_H}, Eq. 10 unrounded (TeX source), as quoted by Besiroglu et al. 2024 (Epoch), data_analysis.ipynb cell 16"
CHINCHILLA: dict[str, Constant] = _table(
    # Approach 3 parametric fit, Sec. 3.3 Eq. 10 (appendix D.2 gives the fitting procedure).
    Constant("E", 1.69, f"{_H}, Sec. 3.3, Eq. 10", "nats/token", "L(N,D) = E + A/N^alpha + B/D^beta"),
    Constant("A", 406.4, f"{_H}, Sec. 3.3, Eq. 10", "nats/token · params^alpha"),
    Constant("B", 410.7, f"{_H}, Sec. 3.3, Eq. 10", "nats/token · tokens^beta"),
    Constant("alpha", 0.34, f"{_H}, Sec. 3.3, Eq. 10", ""),
    Constant("beta", 0.28, f"{_H}, Sec. 3.3, Eq. 10", ""),
    # The same fit unrounded (ln A, ln B, ln E as fitted: A, B, E = exp(a, b, e), App. D.2). Eq. 10 rounds the
    # exponents to 0.34 and 0.28, which moves the closed-form N_opt ~20% down and D_opt ~25-30% up against the
    # paper's own Table A3 (Approach 3 column); these values reproduce Table A3 within ~5% up to 67B
    # parameters. `scalinglaws predict` computes with these and shows Eq. 10 as printed above.
    Constant("ln_A_unrounded", 6.0073404, _UNROUNDED, "ln(nats/token · params^alpha)", "A = exp(6.0073404) = 406.40"),
    Constant("ln_B_unrounded", 6.0179186, _UNROUNDED, "ln(nats/token · tokens^beta)", "B = exp(6.0179186) = 410.72"),
    Constant("ln_E_unrounded", 0.5267228, _UNROUNDED, "ln(nats/token)", "E = exp(0.5267228) = 1.6934"),
    Constant("alpha_unrounded", 0.33917084, _UNROUNDED, "", "printed as 0.34 in Eq. 10"),
    Constant("beta_unrounded", 0.2849083, _UNROUNDED, "", "printed as 0.28 in Eq. 10"),
    Constant("huber_delta", 1e-3, f"{_H}, App. D.2", "log-loss"),
    # Exponents of N_opt ∝ C^a and D_opt ∝ C^b, Table 2.
    Constant("a_approach1", 0.50, f"{_H}, Table 2 (Approach 1)", ""),
    Constant("b_approach1", 0.50, f"{_H}, Table 2 (Approach 1)", ""),
    Constant("a_approach2", 0.49, f"{_H}, Table 2 (Approach 2)", ""),
    Constant("b_approach2", 0.51, f"{_H}, Table 2 (Approach 2)", ""),
    Constant("a_approach3", 0.46, f"{_H}, Table 2 (Approach 3)", "",
             "beta/(alpha+beta) with Eq. 10's rounded values is 0.45, with the unrounded fit 0.4565"),
    Constant("b_approach3", 0.54, f"{_H}, Table 2 (Approach 3)", ""),
    Constant("a_kaplan", 0.73, f"{_H}, Table 2 (Kaplan row)", ""),
    Constant("b_kaplan", 0.27, f"{_H}, Table 2 (Kaplan row)", ""),
    # Where the fits were made (Abstract: "70 million to over 16 billion parameters on 5 to 500 billion tokens").
    Constant("N_min_studied", 7e7, f"{_H}, Abstract", "parameters (all)", "smallest model"),
    Constant("N_max_studied", 1.6e10, f"{_H}, Abstract", "parameters (all)", "largest model ('over 16 billion')"),
    Constant("D_min_studied", 5e9, f"{_H}, Abstract", "tokens", "fewest training tokens"),
    Constant("D_max_studied", 5e11, f"{_H}, Abstract", "tokens", "most training tokens"),
)

_E = "Besiroglu et al. 2024 (Epoch), data_analysis.ipynb"
EPOCH: dict[str, Constant] = _table(
    # Epoch's headline refit of Approach 3 on the digitised points (n = 240), anchors README.
    Constant("A", 482.01, f"{_E} cells 24-25", "", "Huber-likelihood MLE, BFGS"),
    Constant("B", 2085.43, f"{_E} cells 24-25", ""),
    Constant("E", 1.8169, f"{_E} cells 24-25", "nats/token"),
    Constant("alpha", 0.3478, f"{_E} cells 24-25", ""),
    Constant("beta", 0.3659, f"{_E} cells 24-25", ""),
    Constant("a", 0.513, f"{_E} cells 24-25", "", "beta/(alpha+beta)"),
    # Hoffmann's own procedure (sum of Huber terms, L-BFGS-B, 4500-start grid) re-run by Epoch;
    # this is the optimum our `chinchilla_approach3` targets.
    Constant("hoffmann_A", 477.8, f"{_E} cell 18", ""),
    Constant("hoffmann_B", 2143.9, f"{_E} cell 18", ""),
    Constant("hoffmann_E", 1.8172, f"{_E} cell 18", "nats/token"),
    Constant("hoffmann_alpha", 0.3473, f"{_E} cell 18", ""),
    Constant("hoffmann_beta", 0.3672, f"{_E} cell 18", ""),
    Constant("hoffmann_a", 0.514, f"{_E} cell 18", ""),
    Constant("hoffmann_objective", 1.01827e-3, "anchors README (independent scipy re-fit)", "sum of Huber terms"),
)

ALL: dict[str, dict[str, Constant]] = {"kaplan": KAPLAN, "chinchilla": CHINCHILLA, "epoch": EPOCH}


def constant(key: str) -> Constant:
    """Look up ``"kaplan.alpha_N"``, ``"chinchilla.E"`` or ``"epoch.alpha"``."""
    group, _, name = key.partition(".")
    try:
        return ALL[group.lower()][name]
    except KeyError:
        raise ScalingLawsError(
            f"unknown constant {key!r}; use '<group>.<name>' with group in {sorted(ALL)}"
        ) from None


def table(group: str | None = None) -> pd.DataFrame:
    """All constants (or one group's) as a DataFrame, one row each, for printing in notebooks."""
    groups = [group.lower()] if group else list(ALL)
    rows = []
    for g in groups:
        if g not in ALL:
            raise ScalingLawsError(f"unknown constant group {g!r}; choose from {sorted(ALL)}")
        rows += [{"group": g, **c.record()} for c in ALL[g].values()]
    return pd.DataFrame(rows, columns=["group", "name", "value", "units", "source", "note"])


# ----------------------------------------------------------------------------- anchor data

ANCHORS_ENV = "SCALINGLAWS_ANCHORS"
CHINCHILLA_POINTS_FILE = "chinchilla_points.csv"
# sha256 of the byte-for-byte copy of Epoch's data/svg_extracted_data.csv (anchors README).
CHINCHILLA_POINTS_SHA256 = "193478df4e90f040016431996c45682659306840ecdadf83cfb9cd5ca0aa1b30"


def anchors_dir() -> Path:
    """The anchors folder: ``$SCALINGLAWS_ANCHORS`` if set, else ``<repo root>/../shared/anchors``."""
    env = os.environ.get(ANCHORS_ENV)
    if env:
        return Path(env).expanduser()
    repo_root = Path(scalinglaws.__file__).resolve().parents[2]
    return repo_root.parent / "shared" / "anchors"


def load_chinchilla_points(path: str | os.PathLike | None = None, *, keep_lowest: int | None = None) -> pd.DataFrame:
    """Epoch AI's digitisation of Chinchilla Figure 4 (left), 245 runs.

    Returns columns ``N`` (total parameters), ``C`` (training FLOP), ``D = C / (6 N)`` (tokens,
    as Epoch and Hoffmann's Approach 3 use; the file has no token counts), ``L`` (final training
    loss, nats) and the raw extraction columns ``x, y, color, hex_color``, sorted by loss.

    ``path`` may be the CSV itself or the folder holding it. ``keep_lowest=240`` reproduces
    Epoch's default of dropping the 5 highest-loss points.
    """
    if path is None:
        file = anchors_dir() / CHINCHILLA_POINTS_FILE
    else:
        p = Path(path).expanduser()
        file = p / CHINCHILLA_POINTS_FILE if p.is_dir() else p
    if not file.is_file():
        raise ScalingLawsError(
            f"Chinchilla anchor data not found at {file}; set {ANCHORS_ENV} to the folder holding "
            f"{CHINCHILLA_POINTS_FILE}"
        )
    raw = file.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != CHINCHILLA_POINTS_SHA256:
        warnings.warn(
            f"{file} has sha256 {digest[:12]}…, not the documented copy "
            f"{CHINCHILLA_POINTS_SHA256[:12]}…; published refits may not be reproduced",
            stacklevel=2,
        )
    df = pd.read_csv(file)
    missing = {"Model Size", "Training FLOP", "loss"} - set(df.columns)
    if missing:
        raise ScalingLawsError(f"{file} lacks columns {sorted(missing)}")
    out = pd.DataFrame(
        {
            "N": df["Model Size"].astype(float),
            "C": df["Training FLOP"].astype(float),
        }
    )
    out["D"] = out["C"] / (6.0 * out["N"])  # C = 6 N D (Kaplan Sec. 2.1; Hoffmann Sec. 3)
    out["L"] = df["loss"].astype(float)
    for col in ("x", "y", "color", "hex_color"):
        if col in df.columns:
            out[col] = df[col]
    # Stable sort so ties in the (colour-quantised) loss keep file order.
    out = out.sort_values("L", kind="mergesort").reset_index(drop=True)
    if keep_lowest is not None:
        if not 0 < keep_lowest <= len(out):
            raise ScalingLawsError(f"keep_lowest must be in 1..{len(out)}, got {keep_lowest}")
        out = out.iloc[:keep_lowest].reset_index(drop=True)
    return out
