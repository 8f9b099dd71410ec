"""Depth collapse as a paired difference (notebook 01): sign, interval and the sentence in every branch."""

import math

import numpy as np
import pandas as pd
from scalinglaws.analysis import model_size as ms


def _depths(nonembedding_tight: bool, seed: int = 0) -> pd.DataFrame:
    """12 models whose loss is a power law in one view with 2% noise; the other view gets extra scatter."""
    rng = np.random.default_rng(seed)
    N = np.geomspace(3e3, 4e5, 12)
    emb = rng.uniform(1e4, 1e5, 12)  # embedding parameters unrelated to N: total params scramble the order
    N_total = N + emb
    x = N if nonembedding_tight else N_total
    L = (1e9 / x) ** 0.07 * np.exp(rng.normal(0, 0.002, 12))
    return pd.DataFrame({"n_layer": [1, 1] + [2] * 10, "N": N, "N_total": N_total, "final_val_loss": L})


def test_paired_difference_says_which_view_collapses_the_depths():
    tight = ms.depth_difference(_depths(True), n_boot=200, seed=0)
    assert tight["value"] < 0 and tight["ci"][1] < 0 and tight["n_models"] == 12
    assert math.isclose(tight["span"], math.log10(4e5 / 3e3))
    loose = ms.depth_difference(_depths(False), n_boot=200, seed=0)
    assert loose["value"] > 0 and loose["ci"][0] > 0
    deep = ms.depth_difference(_depths(True), n_boot=0, seed=0, without_1_layer=True)
    assert deep["n_models"] == 10 and deep["ci"] is None and deep["models"] == "2+ layers"
    text = ms.interpret_depth(tight, deep)
    assert "non-embedding N fits the depths more tightly" in text and "the interval excludes 0" in text
    assert "no interval (no bootstrap)" in text
    assert "total parameters fits the depths more tightly" in ms.interpret_depth(loose, deep)


def test_depth_difference_without_enough_sizes_and_an_interval_through_zero():
    few = ms.depth_difference(_depths(True).iloc[:2], n_boot=50, seed=0)
    assert math.isnan(few["value"]) and few["ci"] is None
    assert "fewer than 3 sizes" in ms.interpret_depth(few, few)
    both = {"value": 0.001, "ci": (-0.002, 0.004), "n_models": 7, "models": "2+ layers"}
    assert "includes 0: the two views are not told apart" in ms.interpret_depth(both, both)
