"""context_and_lstm: the alpha_t trend recovers a known sign with a paired interval, and the plateau and gap
sentences are true in every branch."""

import numpy as np
import pandas as pd
import pytest
from scalinglaws import ScalingLawsError
from scalinglaws.analysis import context_and_lstm as cx

T = np.arange(1, 129)


def _ladder(alphas, noise=0.0, seed=0):
    """Curves L = E + (3/t)^alpha, one per size (E falls with size), with per-position noise SHARED by all
    sizes (the windows) plus a little of each size's own."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(0, noise, len(T))
    rows = [{"run_id": f"r{i}", "N": 10.0 ** (3 + i / 2),
             "losses": 4.5 - 0.1 * i + (3 / T) ** a + shared + rng.normal(0, noise / 10, len(T))}
            for i, a in enumerate(alphas)]
    return cx.position_table(rows)


def test_doubling_bins_cover_every_position_once():
    bins = cx.doubling_bins(2, 128)
    assert [int(b[0]) for b in bins] == [2, 4, 8, 16, 32, 64] and int(bins[-1][-1]) == 128
    assert sorted(np.concatenate(bins).tolist()) == list(range(2, 129))


def test_alpha_t_trend_finds_the_sign_and_its_interval_is_paired():
    up = cx.alpha_t_trend(_ladder([0.6, 0.8, 1.0, 1.2, 1.4], noise=0.02), n_boot=40)
    assert up["slope"] > 0 and up["ci"][0] > 0 and up["n_sizes"] == 5 and abs(up["span"] - 2.0) < 1e-9
    assert "grows with N, as Kaplan" in cx.describe_alpha_t_trend(up) and up["share_positive"] == 1.0
    down = cx.alpha_t_trend(_ladder([1.4, 1.2, 1.0, 0.8, 0.6], noise=0.02), n_boot=40)
    assert down["ci"][1] < 0 and "falls with N" in cx.describe_alpha_t_trend(down)
    # shared noise moves every size alike: with no true trend the paired interval holds 0 and stays narrow
    flat = cx.alpha_t_trend(_ladder([1.0] * 5, noise=0.05), n_boot=40)
    assert flat["ci"][0] <= 0 <= flat["ci"][1] and flat["ci"][1] - flat["ci"][0] < 0.2
    assert "not settled" in cx.describe_alpha_t_trend(flat)
    none = dict(flat, ci=(None, None), share_positive=None)
    assert "no interval" in cx.describe_alpha_t_trend(none)
    assert cx.alpha_t_trend(_ladder([1.0, 1.1]), n_boot=5) is None  # two sizes: no trend
    flat_line = cx.position_table([{"run_id": f"c{i}", "N": 10.0 ** (3 + i), "losses": np.full(len(T), 5.0 - i / 10)}
                                   for i in range(3)])
    assert cx.alpha_t_trend(flat_line, n_boot=5) is None  # no law in t at any size: no trend, no error
    mixed = pd.concat([_ladder([1.0] * 3), _ladder([1.0])[lambda d: d.t <= 64].assign(run_id="x", N=1e9)])
    with pytest.raises(ScalingLawsError, match="one n_ctx"):
        cx.alpha_t_trend(mixed, n_boot=5)


def _curve(loss):
    return pd.DataFrame({"t": T, "loss": loss})


def test_plateau_sentence_says_within_noise_when_it_is():
    rng = np.random.default_rng(1)
    tf = _curve(4.2 + (3 / T) ** 0.5 + rng.normal(0, 0.08, len(T)))
    lstm_flat = _curve(4.2 + np.where(T < 4, (3 / T) ** 0.5, (3 / 4) ** 0.5) + rng.normal(0, 0.08, len(T)))
    pc = cx.plateau_comparison(tf, lstm_flat, 128, 4)
    assert 0.06 < pc["sigma"][0] < 0.1  # the per-position noise is recovered from the scatter
    assert pc["extra_drop"] > pc["noise"] and "as Kaplan found" in cx.describe_plateau(pc, 128)
    same = _curve(4.2 + (3 / T) ** 0.5 + rng.normal(0, 0.08, len(T)))  # an LSTM curve like the transformer's
    pc2 = cx.plateau_comparison(tf, same, 16, 4)
    assert abs(pc2["extra_drop"]) <= pc2["noise"]
    said = cx.describe_plateau(pc2, 128)
    assert "within the noise" in said and "as Kaplan found" not in said
    assert "does not plateau earlier" in cx.describe_plateau(dict(pc2, t_ls=16, t_tf=16), 128)


def test_gap_is_untestable_when_the_context_stops_near_the_onset():
    short = cx.gap_testable(128)
    assert not short["testable"] and "28 of 128 positions" in short["reason"] and "needs n_ctx >= 200" in short["reason"]
    long = cx.gap_testable(1024)
    assert long["testable"] and "cannot" not in long["reason"]
    assert not cx.gap_testable(64)["testable"] and cx.gap_testable(64)["past"] == 0


def test_an_interval_end_within_monte_carlo_error_of_zero_supports_neither_side():
    import numpy as np

    q = [2.5, 97.5]
    rng = np.random.default_rng(0)
    far = rng.normal(-1.0, 0.2, 400)  # clearly below 0 in both halves
    assert cx.monte_carlo_unstable(far, q) == ""
    edge = np.concatenate([rng.normal(-1.0, 0.5, 390), [0.05] * 10])  # the upper end sits at 0
    halves = [np.percentile(edge[i::2], q) for i in (0, 1)]
    flips = (halves[0][0] <= 0 <= halves[0][1]) != (halves[1][0] <= 0 <= halves[1][1])
    assert bool(cx.monte_carlo_unstable(edge, q)) == flips
    assert cx.monte_carlo_unstable(far[:20], q) == ""  # too few replicates to split: not judged
    odd = np.array([-1.0, 0.5] * 200)  # halves: all -1 (0 outside) vs all 0.5 (0 outside) -> agree
    assert cx.monte_carlo_unstable(odd, q) == ""
    mixed = np.array([x for pair in zip(rng.normal(-1, 0.1, 200), rng.normal(0.0, 0.5, 200)) for x in pair])
    assert "Monte Carlo" in cx.monte_carlo_unstable(mixed, q)  # one half's interval holds 0, the other's not


def test_the_gap_reason_says_why_the_profile_has_no_longer_context():
    cpu = cx.gap_testable(128, why_not_longer=cx.why_no_longer_context("cpu"))
    assert not cpu["testable"] and cpu["reason"].endswith("not affordable on the 2 CPU cores this profile is sized for")
    assert "28 of 128 positions" in cpu["reason"]
    other = cx.gap_testable(64, why_not_longer=cx.why_no_longer_context("smoke"))
    assert other["reason"].endswith("the smoke profile trains no longer-context ladder")
    long = cx.gap_testable(512, why_not_longer=cx.why_no_longer_context("cpu"))
    assert long["testable"] and "CPU cores" not in long["reason"]  # the excuse appears only where it applies


def test_positions_are_drawn_in_log_bins_with_the_legend_in_order_of_N():
    import numpy as np
    import pandas as pd
    from scalinglaws.analysis import context_and_lstm as cx

    rows = []
    for rid, N, arch in (("big", 4e5, "transformer"), ("small", 3e3, "transformer"), ("mid", 2e4, "transformer"),
                         ("l", 2e4, "LSTM")):
        t = np.arange(1, 129)
        rows.append(pd.DataFrame({"run_id": rid, "N": N, "arch": arch, "n_ctx": 128, "t": t,
                                  "loss": 4 + (10 / t) ** 0.5 + 0.05 * np.sin(t)}))  # a zig-zag on a power law
    pos = pd.concat(rows, ignore_index=True)
    b = cx.binned_positions(pos)
    one = b[b.run_id == "big"]
    assert len(one) < 40 and one.positions.sum() == 128  # every position in exactly one bin
    assert np.all(np.diff(one.t) > 0) and np.all(np.diff(one.loss) < 0)  # the bins average the zig-zag away
    fig, drawn = cx.loss_by_position_figure(pos, ("mid", "l"))
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["N = 3,000", "N = 20,000", "N = 400,000"]
    assert "tokens" in fig.axes[0].get_xlabel() and "nats/token" in fig.axes[0].get_ylabel()
    assert any("parameters" in a.get_ylabel() for a in fig.axes[2:])  # the colour bar says its unit
