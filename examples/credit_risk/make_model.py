#!/usr/bin/env python3
"""Build the bundled example: a small credit-risk MLP exported as ONNX.

Features (already normalised to roughly [-1, 1]):
  income, debt_to_income, years_of_history, late_payments, utilisation, years_employed
Output: one creditworthiness score (a logit: > 0 means likely to repay).

The network is trained with plain numpy on synthetic borrowers (seeded, reproducible) and
exported with the op mix PyTorch produces: Flatten, MatMul + Add (a batched Linear),
Relu, Gemm with transB=1 (a Linear), Relu, Gemm.

Writes model.onnx, input.json (one borrower, EZKL format), calibration.json (64 borrowers)
and meta.json (onnxruntime's output for input.json). Needs: pip install onnx numpy onnxruntime
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 7
FEATURES = ["income", "debt_to_income", "years_of_history", "late_payments", "utilisation", "years_employed"]


def synthetic_borrowers(rng, n):
    x = rng.uniform(-1, 1, size=(n, len(FEATURES))).astype(np.float32)
    # Repayment odds: income, history and employment help; debt, late payments and utilisation hurt,
    # and late payments hurt more when utilisation is high.
    logit = (1.2 * x[:, 0] - 1.5 * x[:, 1] + 0.6 * x[:, 2] - 1.8 * x[:, 3] - 0.8 * x[:, 4]
             + 0.5 * x[:, 5] - 0.7 * np.maximum(x[:, 3] * x[:, 4], 0))
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-2 * logit))).astype(np.float32)
    return x, y


def train(rng, x, y, h1=16, h2=8, epochs=300, lr=0.05):
    w1 = rng.normal(0, np.sqrt(2 / 6), (6, h1)).astype(np.float32); b1 = np.zeros(h1, np.float32)
    w2 = rng.normal(0, np.sqrt(2 / h1), (h2, h1)).astype(np.float32); b2 = np.zeros(h2, np.float32)
    w3 = rng.normal(0, np.sqrt(2 / h2), (1, h2)).astype(np.float32); b3 = np.zeros(1, np.float32)
    for _ in range(epochs):
        a1 = np.maximum(x @ w1 + b1, 0)
        a2 = np.maximum(a1 @ w2.T + b2, 0)
        z = (a2 @ w3.T + b3)[:, 0]
        g = (1 / (1 + np.exp(-z)) - y)[:, None] / len(y)
        gw3 = g.T @ a2; gb3 = g.sum(0)
        g2 = (g @ w3) * (a2 > 0)
        gw2 = g2.T @ a1; gb2 = g2.sum(0)
        g1 = (g2 @ w2) * (a1 > 0)
        gw1 = x.T @ g1; gb1 = g1.sum(0)
        for p, gp in ((w1, gw1), (b1, gb1), (w2, gw2), (b2, gb2), (w3, gw3), (b3, gb3)):
            p -= lr * gp
    return w1, b1, w2, b2, w3, b3


def main():
    rng = np.random.default_rng(SEED)
    x, y = synthetic_borrowers(rng, 2000)
    w1, b1, w2, b2, w3, b3 = train(rng, x, y)
    inits = [numpy_helper.from_array(a.astype(np.float32), n) for a, n in
             ((w1, "fc1.weight_t"), (b1, "fc1.bias"), (w2, "fc2.weight"), (b2, "fc2.bias"),
              (w3, "head.weight"), (b3, "head.bias"))]
    nodes = [
        helper.make_node("Flatten", ["features"], ["flat"], name="flatten", axis=1),
        helper.make_node("MatMul", ["flat", "fc1.weight_t"], ["mm1"], name="fc1/MatMul"),
        helper.make_node("Add", ["mm1", "fc1.bias"], ["h1"], name="fc1/Add"),
        helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
        helper.make_node("Gemm", ["a1", "fc2.weight", "fc2.bias"], ["h2"], name="fc2", transB=1),
        helper.make_node("Relu", ["h2"], ["a2"], name="relu2"),
        helper.make_node("Gemm", ["a2", "head.weight", "head.bias"], ["score"], name="head", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "credit_risk",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 6])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [1, 1])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="zkinfer-example")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "model.onnx"))

    borrower = np.array([[0.6, -0.3, 0.4, -0.8, -0.2, 0.5]], np.float32)
    calib, _ = synthetic_borrowers(rng, 64)
    with open(os.path.join(HERE, "input.json"), "w") as f:
        json.dump({"input_data": [[float(v) for v in borrower.flatten()]]}, f)
    with open(os.path.join(HERE, "calibration.json"), "w") as f:
        json.dump({"input_data": [[float(v) for v in calib.flatten()]]}, f)
    meta = {"features": FEATURES, "train_accuracy": None, "ort_output": None}
    a2 = np.maximum(np.maximum(x @ w1 + b1, 0) @ w2.T + b2, 0)
    meta["train_accuracy"] = float((((a2 @ w3.T + b3)[:, 0] > 0) == (y > 0.5)).mean())
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(os.path.join(HERE, "model.onnx"), providers=["CPUExecutionProvider"])
        meta["ort_output"] = [float(v) for v in sess.run(None, {"features": borrower})[0].flatten()]
    except ImportError:
        pass
    with open(os.path.join(HERE, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
