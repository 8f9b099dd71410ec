"""RunSpec: new fields keep old addresses; data subsets nest; the noise-scale measurement leaves training unchanged."""


import numpy as np
import pytest
from scalinglaws.data.windows import SUBSET_CHUNK, subset_tokens
from scalinglaws.training.spec import RunSpec, SpecError


def test_chunk_subsets_nest_and_span_the_split():
    train = np.arange(200 * SUBSET_CHUNK, dtype=np.uint16 if 200 * SUBSET_CHUNK < 65536 else np.uint32)
    small, big = subset_tokens(train, 3 * SUBSET_CHUNK + 5, "chunks"), subset_tokens(train, 20 * SUBSET_CHUNK, "chunks")
    assert len(small) == 3 * SUBSET_CHUNK + 5 and len(big) == 20 * SUBSET_CHUNK
    assert np.array_equal(small, big[: len(small)])  # nested: a smaller subset is the start of a larger one
    starts = big[::SUBSET_CHUNK] // SUBSET_CHUNK  # which chunk of the split each came from
    assert len(set(starts)) == 20 and np.ptp(starts) > 100  # 20 different chunks from across the split
    assert np.array_equal(subset_tokens(train, 1000, "prefix"), train[:1000])
    assert subset_tokens(train, 0, "chunks") is train


def test_new_spec_fields_keep_old_addresses_and_validate():
    base = RunSpec(n_layer=1, d_model=16)
    assert "noise_scale" not in base.hashed_fields() and "data_sampling" not in base.hashed_fields()
    assert base.replace(noise_scale=True).run_id != base.run_id
    assert base.replace(data_tokens=10_000, data_sampling="chunks").run_id != base.replace(data_tokens=10_000).run_id
    with pytest.raises(SpecError, match="data_sampling"):
        base.replace(data_sampling="random").validate()
    with pytest.raises(SpecError, match="noise_scale needs batch_size >= 2"):
        base.replace(noise_scale=True, batch_size=1).validate()


def test_noise_scale_measures_without_changing_training(tiny_spec, small_tokens, runs_dir):
    """The measurement's extra half-batch backward leaves the training step itself bit for bit alone."""
    from scalinglaws.store.tables import load_runs
    from scalinglaws.training.loop import train_run

    plain, measured = tiny_spec.replace(tokens=16 * 64 * 80), tiny_spec.replace(tokens=16 * 64 * 80, noise_scale=True)
    for s in (plain, measured):
        train_run(s, runs_dir, log="none", threads=1)
    df = load_runs([plain, measured], runs_dir)
    a, b = (df[df.run_id == s.run_id].reset_index(drop=True) for s in (plain, measured))
    assert np.array_equal(a["val_loss"].to_numpy(), b["val_loss"].to_numpy())
    assert (b["noise_n"] > 0).any() and b["noise_g2_b"].dropna().gt(0).all()
    # E|G_b|^2 = |G|^2 + tr(Sigma)/b > E|G_B|^2 for b < B: on average the half batch's gradient is longer
    m = b.dropna(subset=["noise_g2_b"])  # evals with at least one measurement since the previous one
    assert len(m) >= 2 and (m["noise_g2_b"] > m["noise_g2_B"]).mean() > 0.5


