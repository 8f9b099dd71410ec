"""`scalinglaws predict`: the scaling laws as answers to three practical questions.

    predict_compute(C)            compute-optimal N, D and the loss for a budget of C FLOPs: Kaplan's
                                  allocation (Sec. 6.1, Table 6, at C_min = C/2) beside Chinchilla's
                                  (Approach 3 closed form)                                  -> allocation.py
    predict_model(N, D)           the loss of an N-parameter model trained on D tokens (Kaplan Eq. 1.5,
                                  Chinchilla Eq. 10) and Kaplan's overfitting rule (Eq. 4.4) -> model_loss.py
    forecast_run(run_dir, L)      a run's loss at its planned last step, and the steps to a target loss,
                                  from its own learning curve L(S) = E + (S_c/S)^alpha     -> forecast.py

Each returns a report: a plain dict of numbers (None where a number does not exist) and sentences,
ready for ``json.dumps``; `render` writes it as text, `to_json` as JSON (render.py). `predict` is what the
CLI calls (dispatch.py): it checks the inputs, against the ranges of limits.py too, with a one-line
ScalingLawsError for every mistake, and dispatches.

Whose laws (laws.py): the papers' published constants (`paper.KAPLAN`, `paper.CHINCHILLA`, Chinchilla's
unrounded), or this study's fits (``cpu``: figures/cpu/NN_results.json written by notebooks 04 and 06),
left out when their own results say they are not usable.

Units: compute in FLOPs (Kaplan's in PF-days, 1 PF-day = paper.PF_DAY_FLOP), parameters, tokens, and
losses in nats/token. Kaplan's N counts non-embedding parameters, Chinchilla's all parameters; this
study's fits use non-embedding N (Kaplan's counting) throughout.
"""

from __future__ import annotations

from .allocation import (
                         DEFAULT_MFU,
                         GPU_PEAK_BF16_FLOPS,
                         chinchilla_allocation,
                         gpu_hours_to_flops,
                         kaplan_allocation,
                         predict_compute,
)
from .dispatch import DEFAULT_N_BOOT, predict
from .forecast import forecast_run
from .laws import CPU_STUDY_D_RANGE, CPU_STUDY_N_RANGE, NDLaw, chinchilla_law, cpu_laws, paper_laws
from .limits import C_RANGE, D_RANGE, LOSS_MAX, N_BOOT_MAX, N_RANGE
from .model_loss import predict_model
from .render import render, to_json

__all__ = [
    "GPU_PEAK_BF16_FLOPS",
    "DEFAULT_MFU",
    "DEFAULT_N_BOOT",
    "CPU_STUDY_N_RANGE",
    "CPU_STUDY_D_RANGE",
    "C_RANGE",
    "N_RANGE",
    "D_RANGE",
    "LOSS_MAX",
    "N_BOOT_MAX",
    "NDLaw",
    "chinchilla_law",
    "paper_laws",
    "cpu_laws",
    "gpu_hours_to_flops",
    "kaplan_allocation",
    "chinchilla_allocation",
    "predict_compute",
    "predict_model",
    "forecast_run",
    "predict",
    "render",
    "to_json",
]
