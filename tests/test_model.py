"""Parameter and compute accounting against hand-computed values and transformers' own count."""

import pytest

from scalinglaws.config import RunSpec, SpecError
from scalinglaws.model import (Shape, ShapeError, build_model, embedding_params, forward_flops_per_token,
                               kaplan_approx_params, non_embedding_params, shape_for_params,
                               total_params, train_flops_per_token)


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

    from scalinglaws.loss import linear_cross_entropy

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
