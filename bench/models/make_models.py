#!/usr/bin/env python3
"""zkinfer's own bench-model generator: writes the models the benchmarks run into bench/models/.

  gpt_small.onnx        a nanoGPT-style decoder: vocab 64, sequence 16, token + learned position
                        embeddings, 2 pre-LayerNorm blocks of causal 4-head self-attention (d 64, the
                        mask a torch.tril buffer applied with masked_fill(-inf)) and an MLP 64->256
                        GELU(tanh) ->64, final LayerNorm, lm head 64->64 (no bias); input `ids`
                        int64 [1, 16], output `logits` float32 [1, 64] (the next token's).  TorchScript exporter,
                        opset 17 (LayerNormalization as one node), constant folding on.
  gpt_small.calib.json  8 samples of ids (EZKL format: one flat list, the samples concatenated)
  gpt_small.input.json  1 sample of ids
  gpt_small.meta.json   description, parameter count, input and output shapes, and onnxruntime's
                        logits for gpt_small.input.json (flat)

Seeded, so a rerun writes the same models. prover/tests/fixtures/make_exported_fixtures.py uses
make_gpt/export_gpt below for its tiny GPT fixture (torch_gpt_tiny).

Needs torch, onnx, onnxruntime and numpy; from the repository root:
    python3 -m venv .venv-torch
    .venv-torch/bin/pip install torch onnx onnxruntime onnxscript numpy
    .venv-torch/bin/python bench/models/make_models.py
"""
import json
import math
import os
import warnings

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261202


def make_gpt(vocab, block, n_layer, n_head, d, hidden, seed):
    """A nanoGPT-style decoder (token + learned position embedding, pre-LayerNorm blocks of causal
    multi-head self-attention and a GELU(tanh) MLP, final LayerNorm, lm head), seeded, with
    weights scaled so that activations stay within about +-4: the scaled attention scores, the
    residual stream, LayerNorm outputs, GELU inputs (about +-3) and logits. Two intermediates of
    the exported graph go further: q @ k^T before its 1/sqrt(head dim) Mul (about +-14 in
    gpt_small), and x*x*x in GELU(tanh)'s decomposition (about +-20)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(d, 3 * d)
            self.c_proj = nn.Linear(d, d)
            self.register_buffer("bias", torch.tril(torch.ones(block, block)).view(1, 1, block, block))

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(d, dim=2)
            k = k.view(B, T, n_head, C // n_head).transpose(1, 2)
            q = q.view(B, T, n_head, C // n_head).transpose(1, 2)
            v = v.view(B, T, n_head, C // n_head).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn, self.ln_2 = nn.LayerNorm(d), CausalSelfAttention(), nn.LayerNorm(d)
            self.c_fc, self.c_proj = nn.Linear(d, hidden), nn.Linear(hidden, d)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(block, d)
            self.h = nn.ModuleList(Block() for _ in range(n_layer))
            self.ln_f, self.lm_head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)

        def forward(self, ids):
            b, t = ids.size()
            pos = torch.arange(0, t, dtype=torch.long, device=ids.device)
            x = self.wte(ids) + self.wpe(pos)
            for blk in self.h:
                x = blk(x)
            return self.lm_head(self.ln_f(x))

    torch.manual_seed(seed)
    m = GPT()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("wte.weight") or name.endswith("wpe.weight"):
                nn.init.normal_(p, 0.0, 0.5)
            elif "ln" in name:  # LayerNorm: gamma near 1, beta near 0
                nn.init.normal_(p, 1.0 if name.endswith("weight") else 0.0, 0.1)
            elif name.endswith("bias"):
                nn.init.normal_(p, 0.0, 0.05)
            else:  # Linear weights, [out, in]: residual branches and GELU inputs damped
                gain = 0.5 if name.endswith("c_proj.weight") else 0.6 if name.endswith("c_fc.weight") else 0.8
                nn.init.normal_(p, 0.0, gain / math.sqrt(p.shape[1]))
    return m.eval()


def export_gpt(model, path):
    """TorchScript exporter; opset 17, where LayerNormalization is emitted as one node."""
    import torch
    t = model.wpe.num_embeddings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, t, dtype=torch.long),), path, dynamo=False, opset_version=17,
                          do_constant_folding=True, input_names=["ids"], output_names=["logits"])
    assert any(n.op_type == "LayerNormalization" for n in onnx.load(path).graph.node)


def gpt_small():
    import torch

    class NextToken(torch.nn.Module):
        """The decoder's logits for the next token (the last position): what a chain consumes,
        64 public outputs instead of 1024."""

        def __init__(self, gpt):
            super().__init__()
            self.gpt, self.wpe = gpt, gpt.wpe

        def forward(self, ids):
            return self.gpt(ids)[:, -1, :]

    vocab, block = 64, 16
    model = NextToken(make_gpt(vocab=vocab, block=block, n_layer=2, n_head=4, d=64, hidden=256, seed=SEED)).eval()
    path = os.path.join(HERE, "gpt_small.onnx")
    export_gpt(model, path)
    rng = np.random.default_rng(SEED)
    samples = [rng.integers(0, vocab, [1, block]).astype(np.int64) for _ in range(9)]
    with open(os.path.join(HERE, "gpt_small.calib.json"), "w") as f:
        json.dump({"input_data": [np.concatenate([s.flatten() for s in samples[:8]]).tolist()]}, f)
    with open(os.path.join(HERE, "gpt_small.input.json"), "w") as f:
        json.dump({"input_data": [samples[8].flatten().tolist()]}, f)

    import onnxruntime as ort
    import torch
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    logits = sess.run(None, {"ids": samples[8]})[0]
    with torch.no_grad():
        ref = model(torch.from_numpy(samples[8])).numpy()
    err = float(np.abs(ref - logits).max())
    assert err < 1e-4, err
    params = sum(p.numel() for p in model.gpt.parameters())
    meta = {
        "description": "nanoGPT-style decoder: vocab 64, sequence 16, token + position embeddings, 2 layers, "
                       "4 heads, d 64, MLP 64-256-64 GELU(tanh), pre-LayerNorm, final LayerNorm, lm head; "
                       "causal mask tril buffer + masked_fill(-inf); TorchScript export, opset 17; seed "
                       f"{SEED}. Input ids int64 [1, 16], output the next token's logits [1, 64].",
        "params": params,
        "input_shape": [1, block],
        "output_shape": list(logits.shape),
        "ort_output": [float(v) for v in logits.flatten()],
    }
    with open(os.path.join(HERE, "gpt_small.meta.json"), "w") as f:
        json.dump(meta, f)
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    print(f"gpt_small: {params} parameters, logits {list(logits.shape)} in [{logits.min():.3f}, {logits.max():.3f}], "
          f"onnxruntime vs torch {err:.2e}\n  ops {ops}")


def main():
    gpt_small()


if __name__ == "__main__":
    main()
