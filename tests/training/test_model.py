"""Parameter and compute accounting against hand-computed values and transformers' own count."""

import pytest
from scalinglaws.training.model import (
    Shape,
    ShapeError,
    build_model,
    embedding_params,
    forward_flops_per_token,
    kaplan_approx_params,
    non_embedding_params,
    shape_for_params,
    total_params,
    train_flops_per_token,
)
from scalinglaws.training.spec import RunSpec, SpecError


def test_hand_computed_one_layer():
    s = Shape(n_layer=1, d_model=16, n_head=2, d_ff=64, n_ctx=32, vocab_size=100)
    # ln_1 32 + c_attn 16*48+48=816 + attn proj 16*16+16=272 + ln_2 32 + fc 16*64+64=1088
    # + mlp proj 64*16+16=1040 = 3280 per layer; + ln_f 32
    assert non_embedding_params(s) == 3312
    assert embedding_params(s) == 100 * 16 + 32 * 16
    assert kaplan_approx_params(s) == 12 * 1 * 16**2
    f = forward_flops_per_token(s)
    assert f == {"params": 2 * 3312, "context": 2 * 1 * 32 * 16, "deembed": 2 * 16 * 100}
    t = train_flops_per_token(s)
    assert t["kaplan"] == 6 * 3312
    assert t["full"] == 3 * (2 * 3312 + 2 * 32 * 16 + 2 * 16 * 100)


@pytest.mark.parametrize("shape", [
    Shape(1, 16, 1, 64, 64, 512),
    Shape(3, 48, 3, 192, 128, 1024),
    Shape(2, 32, 4, 16, 128, 300),  # d_ff = d_model/2
])
def test_counts_match_transformers(shape):
    m = build_model(shape, seed=0)
    assert non_embedding_params(shape) == m.num_parameters(exclude_embeddings=True)
    assert total_params(shape) == m.num_parameters()  # tied head is not counted twice
    assert m.lm_head.weight.data_ptr() == m.transformer.wte.weight.data_ptr()


def test_kaplan_approx_close_for_wide_models():
    s = Shape(4, 256, 8, 1024, 128, 1024)
    # biases and layer norms are O(d) per layer: < 1% at d=256
    assert abs(non_embedding_params(s) / kaplan_approx_params(s) - 1) < 0.01


@pytest.mark.parametrize("target,aspect", [(1e4, 8), (1e5, 32), (1e6, 64), (3e6, 128)])
def test_shape_for_params_hits_target(target, aspect):
    s = shape_for_params(target, aspect)
    s.validate()
    assert abs(non_embedding_params(s) / target - 1) < 0.2


@pytest.mark.parametrize("kw,msg", [
    (dict(n_layer=0, d_model=16), "n_layer"),
    (dict(n_layer=2, d_model=18, n_head=4), "not divisible"),
    (dict(n_layer=2, d_model=-16), "d_model"),
])
def test_invalid_shapes_fail_with_one_line(kw, msg):
    with pytest.raises(SpecError) as e:
        RunSpec(**kw).validate()
    assert msg in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ShapeError):
        build_model(RunSpec(**kw).shape())


def test_spec_hash_ignores_descriptions_but_not_numerics():
    a = RunSpec(n_layer=2, d_model=16, corpus="gutenberg")
    assert a.run_id == a.replace(label="x", lr_source="y").run_id
    assert a.run_id == a.replace(corpus="gutenberg:251").run_id  # same books, same fingerprint
    for change in [dict(precision="bf16"), dict(lr=1e-3), dict(seed=1), dict(corpus="gutenberg:12")]:
        assert a.replace(**change).run_id != a.run_id


@pytest.mark.parametrize("rows,chunk", [(300, 64), (64, 256)])  # chunks that do / do not divide the rows
def test_fused_head_loss_matches_plain_cross_entropy(rows, chunk):
    """The fused chunked head loss is the same cross-entropy as logits -> F.cross_entropy, value and
    gradients (to both the hidden states and the tied head), in fp32; and needs no graph under no_grad."""
    import torch
    from scalinglaws.training.loss import linear_cross_entropy

    g = torch.Generator().manual_seed(0)
    h = torch.randn(rows, 24, generator=g, requires_grad=True)
    w = (0.3 * torch.randn(97, 24, generator=g)).requires_grad_()
    y = torch.randint(0, 97, (rows,), generator=g)
    ours = linear_cross_entropy(h, w, y, chunk=chunk)
    (2.5 * ours).backward()  # a non-unit upstream gradient must scale both stored gradients
    gh, gw = h.grad.clone(), w.grad.clone()
    h.grad = w.grad = None
    ref = torch.nn.functional.cross_entropy(h @ w.t(), y)
    (2.5 * ref).backward()
    assert ours.item() == pytest.approx(ref.item(), rel=1e-6)
    # fp32 rounding: the head gradient sums over rows chunk by chunk, so compare relative to the largest entry
    assert (gh - h.grad).abs().max() < 1e-5 * h.grad.abs().max()
    assert (gw - w.grad).abs().max() < 1e-5 * w.grad.abs().max()
    with torch.no_grad():
        assert linear_cross_entropy(h, w, y, chunk=chunk).item() == pytest.approx(ref.item(), rel=1e-6)


def test_kernels_choose_the_gelu_and_enter_the_hash():
    s = Shape(1, 16, 1, 64, 32, 100)
    assert build_model(s, kernels="fast").config.activation_function == "gelu"
    assert build_model(s, kernels="reference").config.activation_function == "gelu_new"  # GPT-2's
    a = RunSpec(n_layer=1, d_model=16)
    assert a.run_id != a.replace(kernels="reference").run_id
    with pytest.raises(SpecError, match="kernels='triton'"):
        a.replace(kernels="triton").validate()


def test_lstm_parameter_convention():
    """N of an LSTM = every parameter except the token embedding (the head is tied to it): 8d^2 + 8d per layer."""
    s = Shape(n_layer=2, d_model=24, n_head=1, d_ff=96, n_ctx=32, vocab_size=100, arch="lstm")
    m = build_model(s, seed=0)
    assert m.lm_head.weight.data_ptr() == m.trunk.wte.weight.data_ptr()
    total = sum(p.numel() for p in m.parameters())  # the tied matrix once
    assert non_embedding_params(s) == total - 100 * 24 == 2 * (8 * 24 * 24 + 8 * 24)
    assert embedding_params(s) == 100 * 24 and total_params(s) == total
    assert forward_flops_per_token(s)["context"] == 0 and train_flops_per_token(s)["kaplan"] == 6 * non_embedding_params(s)
    spec = RunSpec(n_layer=2, d_model=24, n_ctx=32, vocab_size=100, arch="lstm")
    d = spec.describe()
    assert d["N"] == spec.n_params == non_embedding_params(s) and d["arch"] == "lstm" and d["n_head"] is None


def test_arch_must_be_known_and_enters_the_hash_only_when_not_gpt2():
    a = RunSpec(n_layer=2, d_model=16)
    assert "arch" not in a.hashed_fields() and a.replace(arch="lstm").hashed_fields()["arch"] == "lstm"
    assert a.replace(arch="lstm").run_id != a.run_id
    with pytest.raises(SpecError) as e:
        a.replace(arch="transformer").validate()
    assert "use 'gpt2' (the transformer) or 'lstm'" in str(e.value) and "\n" not in str(e.value)


def test_every_published_run_keeps_its_address():
    """RunSpec fields added since (arch, ...) are hashed only when not their default: each finished run of
    the published store rebuilt from its config.json hashes to its folder's name."""
    import json
    from pathlib import Path

    store = Path(__file__).resolve().parents[2] / "runs" / "cpu"
    runs = [p.parent for p in sorted(store.glob("*/DONE"))]
    if not runs:
        pytest.skip("no published cpu store in this checkout")
    wrong = [rd.name for rd in runs
             if RunSpec.from_dict(json.loads((rd / "config.json").read_text())["spec"]).run_id != rd.name]
    assert not wrong and len(runs) > 100


@pytest.mark.parametrize("kw,msg", [
    (dict(lr=(0.003, "sweep")), "lr=(0.003, 'sweep') must be a number"),
    (dict(lr="3e-3"), "lr='3e-3' must be a number"),
    (dict(dropout=True), "dropout=True must be a number"),
    (dict(eval_tokens=8192.0), "eval_tokens=8192.0 must be a whole number"),
    (dict(data_tokens=None), "data_tokens=None must be a whole number"),
    (dict(corpus=12), "corpus=12 must be a string"),
    (dict(beta2=1.5), "beta2=1.5 must be in [0, 1)"),
])
def test_wrong_types_are_one_line_spec_errors(kw, msg):
    with pytest.raises(SpecError) as e:
        RunSpec(n_layer=2, d_model=16, **kw).validate()
    assert msg in str(e.value) and "\n" not in str(e.value)
