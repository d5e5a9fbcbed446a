#!/usr/bin/env python3
"""The models of `make bench-scale` (bench/scale.py): larger than one circuit on this machine.

  mlp_wide     1024 -> 4096 -> ReLU -> 1024, 8.4M parameters, 8.4M multiply-accumulates
               (one circuit: k = 22, at the edge of a 24 GiB machine)
  mlp_deep     1024 -> 4096 -> 1024 -> 4096 -> 1024 with ReLUs, 16.8M parameters (one circuit
               is refused)
  resnet_cnn   ResNet-style CNN on a 3x32x32 image: a 3x3 stem, then five stages of one residual
               block each (conv-BN-ReLU-conv-BN + skip, ReLU; a strided 1x1 projection where the
               shape changes), channels 16-32-64-128-256 down to 2x2, global average pooling and a
               linear head to 10 classes; about 1.2M parameters and 20M multiply-accumulates: the
               early stages hold the multiply-accumulates, the late ones the parameters
  resnet_5m    the same blocks, wider and with a strided stem: 3x3 stem 32 (stride 2, to 16x16),
               stages 32-64-128-256-512 down to 2x2 (the last one unstrided), about 4.9M
               parameters and 31M multiply-accumulates, most of both in the 512-channel stage

Written to bench/models/scale/ (git-ignored: tens of MB) with <name>.calib.json (4 samples),
<name>.input.json (1 sample) and <name>.meta.json (parameters, multiply-accumulates, onnxruntime's
output). TorchScript exporter, opset 17, BatchNormalization folded by constant folding. Seeded.

    .venv-torch/bin/python bench/models/make_scale_models.py [NAME ...]
"""
import json
import os
import sys
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "scale")
SEED = 20261128


def mlp(widths):
    import torch
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def resnet_cnn(chans=(16, 32, 64, 128, 256), stem_stride=1, strides=(1, 2, 2, 2, 2)):
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.skip = None
            if stride != 1 or cin != cout:
                self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = torch.relu(self.b1(self.c1(x)))
            y = self.b2(self.c2(y))
            return torch.relu(y + (x if self.skip is None else self.skip(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, chans[0], 3, stem_stride, 1, bias=False),
                                      nn.BatchNorm2d(chans[0]), nn.ReLU())
            blocks, cin = [], chans[0]
            for c, stride in zip(chans, strides):
                blocks.append(Block(cin, c, stride))
                cin = c
            self.blocks = nn.Sequential(*blocks)
            self.head = nn.Linear(cin, 10)

        def forward(self, x):
            x = self.blocks(self.stem(x))
            return self.head(x.mean(dim=(2, 3)))

    net = Net()
    # Trained-looking batch statistics, so that folding BatchNorm is not the identity.
    g = torch.Generator().manual_seed(SEED)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return net


def macs(model, x):
    """Multiply-accumulates of the Linear and Conv2d layers for input `x`."""
    import torch
    total = []

    def hook(m, inp, out):
        if isinstance(m, torch.nn.Linear):
            total.append(m.in_features * m.out_features)
        elif isinstance(m, torch.nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
            total.append(out.numel() * k)

    hs = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x)
    for h in hs:
        h.remove()
    return sum(total)


MODELS = {
    "mlp_wide": (lambda: mlp([1024, 4096, 1024]), [1, 1024],
                 "MLP 1024-4096-ReLU-1024"),
    "mlp_deep": (lambda: mlp([1024, 4096, 1024, 4096, 1024]), [1, 1024],
                 "MLP 1024-4096-1024-4096-1024 with ReLUs"),
    "resnet_cnn": (resnet_cnn, [1, 3, 32, 32],
                   "ResNet-style CNN: 3x3 stem 16, five residual stages 16-32-64-128-256 (BN, ReLU, "
                   "strided 1x1 projections) to 2x2, global average pool, linear head 10"),
    "resnet_5m": (lambda: resnet_cnn((32, 64, 128, 256, 512), 2, (1, 2, 2, 2, 1)), [1, 3, 32, 32],
                  "ResNet-style CNN: 3x3 stem 32 stride 2, five residual stages 32-64-128-256-512 "
                  "(BN, ReLU, strided 1x1 projections) to 2x2, global average pool, linear head 10"),
}


def make(name):
    import onnxruntime as ort
    import torch
    build, shape, description = MODELS[name]
    torch.manual_seed(SEED)
    model = build().eval()
    path = os.path.join(OUT, f"{name}.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(shape),), path, dynamo=False, opset_version=17,
                          do_constant_folding=True, input_names=["x"], output_names=["y"])
    rng = np.random.default_rng(SEED)
    samples = [rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(5)]
    with open(os.path.join(OUT, f"{name}.calib.json"), "w") as f:
        json.dump({"input_data": [np.concatenate([s.flatten() for s in samples[:4]]).tolist()]}, f)
    with open(os.path.join(OUT, f"{name}.input.json"), "w") as f:
        json.dump({"input_data": [samples[4].flatten().tolist()]}, f)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    y = sess.run(None, {"x": samples[4]})[0]
    params = sum(p.numel() for p in model.parameters())
    meta = {
        "description": description + f"; TorchScript export, opset 17, seed {SEED}",
        "params": params,
        "macs": macs(model, torch.from_numpy(samples[4])),
        "input_shape": shape,
        "output_shape": list(y.shape),
        "ort_output": [float(v) for v in y.flatten()],
    }
    with open(os.path.join(OUT, f"{name}.meta.json"), "w") as f:
        json.dump(meta, f)
    print(f"{name}: {params} parameters, {meta['macs']} multiply-accumulates, output {list(y.shape)}")


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in sys.argv[1:] or list(MODELS):
        make(name)


if __name__ == "__main__":
    main()
