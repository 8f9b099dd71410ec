"""The LSTM language model of ``RunSpec(arch="lstm")`` (Kaplan et al. 2020, Sec. 3.2.1, Fig. 7).

    token ids -> embedding (vocab × d) -> dropout -> n_layer × LSTM(d -> d) -> dropout -> head (tied)

It has the GPT-2 model's interface where the training loop touches it: ``model(input_ids=x).logits``,
``model.trunk(input_ids=x).last_hidden_state`` (what the fused head loss takes), ``lm_head.weight``
(the same tensor as the embedding), and the embedding's name contains "wte", so the optimizer leaves it
out of weight decay as it does GPT-2's. Every window starts from a zero state (the context is the
window, as for the transformer). Parameter convention: model.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn


class LSTMTrunk(nn.Module):
    """Embedding and LSTM layers: token ids (batch, t) -> hidden states (batch, t, d)."""

    def __init__(self, vocab_size: int, d_model: int, n_layer: int, dropout: float = 0.0):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, d_model)
        # GPT-2's embedding init (N(0, 0.02)): with the tied head, the initial logits are near zero and
        # the initial loss near ln(vocab), as the transformer's; nn.Embedding's N(0, 1) would start far above.
        nn.init.normal_(self.wte.weight, std=0.02)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(d_model, d_model, num_layers=n_layer, batch_first=True,
                            dropout=dropout if n_layer > 1 else 0.0)  # between layers

    def forward(self, input_ids: torch.Tensor) -> SimpleNamespace:
        h, _ = self.lstm(self.drop(self.wte(input_ids)))
        return SimpleNamespace(last_hidden_state=self.drop(h))


class LSTMLM(nn.Module):
    def __init__(self, vocab_size: int, d_model: int, n_layer: int, dropout: float = 0.0):
        super().__init__()
        self.trunk = LSTMTrunk(vocab_size, d_model, n_layer, dropout)
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False)
        self.lm_head.weight = self.trunk.wte.weight  # tied: one matrix, counted once (as embedding)

    def forward(self, input_ids: torch.Tensor) -> SimpleNamespace:
        return SimpleNamespace(logits=self.lm_head(self.trunk(input_ids=input_ids).last_hidden_state))
