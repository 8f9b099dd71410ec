"""Notebook 03: contiguous aspect-ratio ranges within tolerance, seed noise, and the computed sentences."""

import math

import numpy as np
import pandas as pd
import pytest

from scalinglaws import ScalingLawsError
from scalinglaws.analysis import shape as sh


def _group(aspects, penalties, layers=None, seeds=1):
    """One aspect group of shape_table: L_corrected = 4·(1 + penalty/100)."""
    layers = layers or [2] * len(aspects)
    return pd.DataFrame({"kind": "aspect", "size": "1e5", "aspect_ratio": aspects, "n_layer": layers,
                         "L_corrected": 4 * (1 + np.asarray(penalties, float) / 100), "seeds": seeds})


def test_range_is_contiguous_around_the_best_and_stops_at_the_first_bad_shape():
    # the shape at 64 is as good as the best, but 32 between them costs 10%: the stretch stops at 16
    g = _group([2, 4, 8, 16, 32, 64], [5.0, 2.0, 0.0, 1.0, 10.0, 0.5])
    r = sh.contiguous_range(g, 3.0, math.nan)
    assert (r.lo, r.hi) == (4, 16) and r.ratio == 4 and r.open_ends == []
    assert sh.within_range(g.assign(increase_pct=[5.0, 2.0, 0.0, 1.0, 10.0, 0.5]), "aspect_ratio", 3.0)[:2] == (4, 64)


def test_seed_noise_widens_the_tolerance_by_twice_the_sd_of_the_difference():
    g = _group([2, 4, 8, 16], [5.0, 2.0, 0.0, 4.0])
    strict = sh.contiguous_range(g, 3.0, math.nan)
    noisy = sh.contiguous_range(g, 3.0, 1.0)  # tolerance 3 + 2·sqrt(2) = 5.83% for single seeds
    assert (strict.lo, strict.hi) == (4, 8)
    assert (noisy.lo, noisy.hi) == (2, 16) and (noisy.strict_lo, noisy.strict_hi) == (4, 8)
    assert noisy.open_ends == ["deeper", "wider"]
    # with 4 seeds behind each mean the difference sd halves: 3 + 2·sqrt(0.5) = 4.41% keeps 16 (4%), not 2 (5%)
    more = sh.contiguous_range(g.assign(seeds=4), 3.0, 1.0)
    assert (more.lo, more.hi) == (4, 16) and more.seeds == 4


def test_without_one_layer_shapes_the_best_deeper_shape_is_the_reference():
    g = _group([2, 8, 32, 88], [3.5, 1.0, 2.0, 0.0], layers=[16, 5, 2, 1])
    with_one = sh.contiguous_range(g, 3.0, math.nan)
    without = sh.contiguous_range(g, 3.0, math.nan, one_layer=False)
    assert (with_one.lo, with_one.hi) == (8, 88) and with_one.n_tried == 4
    # re-baselined on aspect 8: aspect 2 costs 2.5% over it, inside 3%
    assert (without.lo, without.hi) == (2, 32) and without.n_tried == 3
    assert without.span == pytest.approx(math.log10(16))
    with pytest.raises(ScalingLawsError, match="at least 1 shape with more than one layer"):
        sh.contiguous_range(g.iloc[[3]], 3.0, math.nan, one_layer=False)
    # a single deeper shape (the smoke grid) is a 1x range: untestable, not an error
    one = sh.contiguous_range(g.iloc[[1, 3]], 3.0, math.nan, one_layer=False)
    assert (one.lo, one.hi, one.n_tried, one.span) == (8, 8, 1, 0.0)
    assert sh.range_status(one, 40.0)[1].startswith("the shapes tried span 1x (0 decades)")


def test_status_is_untestable_when_the_sweep_is_narrower_than_the_claim():
    narrow = sh.contiguous_range(_group([2, 4, 8, 16], [1.0, 0.0, 0.5, 9.0]), 3.0, math.nan)
    status, note = sh.range_status(narrow, 40.0)
    assert status == "untestable" and note.startswith("the shapes tried span 8x (0.9 decades), less than the 40x")
    assert "single seed" in note and "deeper end of the sweep" in note
    wide = sh.contiguous_range(_group([1, 4, 16, 64], [9.0, 0.0, 1.0, 9.0], seeds=3), 3.0, 1.0)
    status, note = sh.range_status(wide, 40.0)
    assert status == "ok" and "3 seeds per shape" in note and "may go further" not in note


def test_interpretation_branches():
    narrow = sh.contiguous_range(_group([2, 4, 8, 16], [1.0, 0.0, 0.5, 9.0]), 3.0, math.nan)
    s = sh.interpret_aspect_range(1e5, narrow, None, 9.0, 40.0)
    assert "tried over only 8x, less than the 40x of the claim, so this sweep cannot test it" in s
    assert "Single seed" in s and "within 3% of the best" in s
    wide_ok = sh.contiguous_range(_group([1, 4, 16, 64, 256], [1.0, 0.0, 1.0, 2.0, 9.0], seeds=3), 3.0, 0.5)
    s = sh.interpret_aspect_range(1e5, wide_ok, None, 9.0, 40.0)
    assert "at least 40x wide" in s and "Single seed" not in s and "twice the seed noise" in s
    wide_narrow = sh.contiguous_range(_group([1, 4, 16, 64, 256], [9.0, 0.0, 9.0, 2.0, 9.0]), 3.0, math.nan)
    assert wide_narrow.ratio == 1
    s = sh.interpret_aspect_range(1e5, wide_narrow, wide_ok, 9.0, 40.0)
    assert "narrower than Kaplan's 40x although the sweep is wider" in s and "with 1-layer shapes 1 to 64" in s


def test_shape_table_averages_seeds_and_distinguishable_uses_the_difference_sd():
    base = {"n_head_eff": 2, "d_ff_eff": 64, "N": 1000.0}
    final = pd.DataFrame([
        {**base, "label": "shape aspect=2 N~1000", "run_id": "a0", "n_layer": 4, "d_model": 8, "aspect_ratio": 2.0, "final_val_loss": 4.0},
        {**base, "label": "shape aspect=2 N~1000 seed 1", "run_id": "a1", "n_layer": 4, "d_model": 8, "aspect_ratio": 2.0, "final_val_loss": 4.2},
        {**base, "label": "shape aspect=8 N~1000", "run_id": "b0", "n_layer": 2, "d_model": 16, "aspect_ratio": 8.0, "final_val_loss": 4.3},
        {**base, "label": "shape aspect=8 N~1000", "run_id": "b0", "n_layer": 2, "d_model": 16, "aspect_ratio": 8.0, "final_val_loss": 4.3},
    ])
    t = sh.shape_table(final, 0.05).sort_values("aspect_ratio").reset_index(drop=True)
    assert t["seeds"].tolist() == [2, 1] and t["final_val_loss"].tolist() == pytest.approx([4.1, 4.3])
    assert t["increase_pct"].tolist() == pytest.approx([0.0, 100 * (4.3 / 4.1 - 1)])  # 4.88%
    # 2·sd·sqrt(1/1 + 1/2): sd 1.9% → 4.65% < 4.88%: real; sd 2.1% → 5.14%: not
    assert sh.distinguishable(t, 1.9).tolist() == [False, True]
    assert sh.distinguishable(t, 2.1).tolist() == [False, False]
    assert sh.distinguishable(t, math.nan).all()
