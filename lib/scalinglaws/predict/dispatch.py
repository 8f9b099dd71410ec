"""`predict`, what the CLI calls: check the inputs of `scalinglaws predict` (a one-line ScalingLawsError for
every mistake or absurd value) and send the one question asked to the module that answers it."""

from __future__ import annotations

import math

from .. import ScalingLawsError
from .allocation import DEFAULT_MFU, GPU_PEAK_BF16_FLOPS, gpu_hours_to_flops, predict_compute
from .forecast import forecast_run
from .limits import C_RANGE, D_RANGE, LOSS_MAX, N_RANGE, check_derived, check_input, check_n_boot, check_positive
from .model_loss import predict_model

__all__ = ["predict", "DEFAULT_N_BOOT"]

DEFAULT_N_BOOT = 200  # bootstrap resamples for --run when --n-boot is not given


def _check_values(compute, gpu_hours, mfu, params, tokens, target_loss, n_boot) -> None:
    """Each number given: finite, > 0 and in the range the tool answers for."""
    check_input("--compute", compute, C_RANGE, "FLOPs")
    check_positive("--gpu-hours", gpu_hours)
    check_input("--params", params, N_RANGE, "parameters")
    check_input("--tokens", tokens, D_RANGE, "tokens")
    check_input("--target-loss", target_loss, (0.0, LOSS_MAX), "nats/token")
    if mfu is not None and not (math.isfinite(mfu) and 0 < mfu <= 1):
        raise ScalingLawsError(f"--mfu {mfu:g}: model FLOPs utilisation must be in (0, 1]")
    check_n_boot(n_boot)


def _check_combination(compute, gpu_hours, gpu, mfu, params, tokens, run, target_loss, n_boot) -> None:
    """Exactly one question, and every option one that applies to it."""
    if tokens is not None and params is None:
        raise ScalingLawsError("--tokens needs --params (the model size N it is trained with)")
    if params is not None and tokens is None:
        raise ScalingLawsError("--params needs --tokens (the training tokens D)")
    if gpu_hours is not None and gpu is None:
        raise ScalingLawsError(f"--gpu-hours needs --gpu ({', '.join(GPU_PEAK_BF16_FLOPS)})")
    for name, x, needs in (("--gpu", gpu, gpu_hours), ("--mfu", mfu, gpu_hours)):
        if x is not None and needs is None:
            raise ScalingLawsError(f"{name} applies only with --gpu-hours")
    if gpu is not None and gpu not in GPU_PEAK_BF16_FLOPS:
        raise ScalingLawsError(f"--gpu {gpu}: choose from {', '.join(GPU_PEAK_BF16_FLOPS)}")
    asked = [n for n, x in (("--compute", compute), ("--gpu-hours", gpu_hours), ("--params/--tokens", params),
                            ("--run", run)) if x is not None]
    if len(asked) > 1:
        raise ScalingLawsError(f"give one question, not {' and '.join(asked)}")
    if not asked:
        raise ScalingLawsError("nothing to predict: give --compute FLOPs, --gpu-hours H --gpu G, "
                               "--params N --tokens D, or --run RUN_DIR")
    if target_loss is not None and run is None:
        raise ScalingLawsError("--target-loss applies only with --run")
    if n_boot is not None and run is None:
        raise ScalingLawsError("--n-boot applies only with --run (the papers' laws have no bootstrap)")


def predict(*, compute=None, gpu_hours=None, gpu=None, mfu=None, params=None, tokens=None, run=None,
            target_loss=None, laws=None, results_dir=None, n_boot=None) -> dict:
    """Check the inputs of `scalinglaws predict` (one-line ScalingLawsError for every mistake) and answer.

    Exactly one question: --compute C or --gpu-hours H --gpu G [--mfu]; --params N --tokens D; or
    --run DIR [--target-loss L]. ``laws``: a list from kaplan, chinchilla, cpu (None = both papers)."""
    _check_values(compute, gpu_hours, mfu, params, tokens, target_loss, n_boot)
    _check_combination(compute, gpu_hours, gpu, mfu, params, tokens, run, target_loss, n_boot)
    if run is not None:
        if laws is not None or results_dir is not None:
            raise ScalingLawsError("--laws and --results-dir do not apply to --run: a run is forecast from its own "
                                   "learning curve")
        return forecast_run(run, target_loss, DEFAULT_N_BOOT if n_boot is None else n_boot)
    laws = list(dict.fromkeys(laws or ["kaplan", "chinchilla"]))
    if results_dir is not None and "cpu" not in laws:
        raise ScalingLawsError("--results-dir is read only with --laws cpu")
    if params is not None:
        check_derived(f"--params {params:g} --tokens {tokens:g}", "C = 6ND", 6 * params * tokens, C_RANGE, "FLOPs",
                      "ask for a smaller model or fewer tokens")
        return predict_model(params, tokens, laws, results_dir)
    assumptions = []
    if gpu_hours is not None:
        compute, line = gpu_hours_to_flops(gpu_hours, gpu, DEFAULT_MFU if mfu is None else mfu)
        check_derived(f"--gpu-hours {gpu_hours:g}", "C", compute, C_RANGE, "FLOPs", "ask for fewer GPU-hours")
        assumptions.append(line)
    return predict_compute(compute, laws, results_dir, assumptions)
