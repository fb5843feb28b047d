"""Train a small digit classifier and export it to ONNX by hand.

usage: python train.py OUTDIR [--batch N]

Uses scikit-learn's bundled 8x8 digits (no download), trains a 64->64->10
MLP with a fixed seed, and writes into OUTDIR:
  digits.onnx  the model: input 'pixels' float32 [B,64] (raw 0..16 values),
               output 'probs' float32 [B,10]
  test_x.bin   held-out pixels, float32, row-major [n,64]
  test_y.bin   held-out labels, int32 [n]
  ort.txt      ONNX Runtime's result on the test split, one line of key=value
B is the whole test split by default, so one model call classifies it all.
The accuracy printed is ONNX Runtime's on the exported model, not sklearn's.
"""
import argparse
import os
import statistics
import time
import warnings

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

SEED = 0
PIXEL_MAX = 16.0  # load_digits pixels are integers 0..16
TIMED_RUNS = 200


def train(x_train, y_train):
    mlp = MLPClassifier(hidden_layer_sizes=(64,), activation="relu",
                        max_iter=400, random_state=SEED)
    with warnings.catch_warnings():
        # A fixed iteration budget is the point; not converging is fine.
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(x_train / PIXEL_MAX, y_train)
    return mlp


def export(mlp, batch):
    """Build the ONNX graph by hand.

    The scaling is part of the model so callers feed raw pixels. Layer 1 is
    a Gemm and layer 2 MatMul+Add on purpose: both forms occur in real
    exports and the compiler should handle (and fuse) each.
    """
    (w1, w2), (b1, b2) = mlp.coefs_, mlp.intercepts_
    f32 = np.float32
    inits = [
        numpy_helper.from_array(np.array(1.0 / PIXEL_MAX, f32), "scale"),
        numpy_helper.from_array(w1.astype(f32), "fc1.weight"),
        numpy_helper.from_array(b1.astype(f32), "fc1.bias"),
        numpy_helper.from_array(w2.astype(f32), "fc2.weight"),
        numpy_helper.from_array(b2.astype(f32), "fc2.bias"),
    ]
    nodes = [
        helper.make_node("Mul", ["pixels", "scale"], ["scaled"], name="scale"),
        helper.make_node("Gemm", ["scaled", "fc1.weight", "fc1.bias"],
                         ["fc1.out"], name="fc1"),
        helper.make_node("Relu", ["fc1.out"], ["hidden"], name="relu1"),
        helper.make_node("MatMul", ["hidden", "fc2.weight"], ["fc2.mm"],
                         name="fc2"),
        helper.make_node("Add", ["fc2.mm", "fc2.bias"], ["logits"],
                         name="fc2.bias_add"),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax",
                         axis=1),
    ]
    n_features, n_classes = w1.shape[0], w2.shape[1]
    graph = helper.make_graph(
        nodes, "digits",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT,
                                       [batch, n_features])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT,
                                       [batch, n_classes])],
        initializer=inits)
    model = helper.make_model(graph, producer_name="dlc-digits-example",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # opset 13 era; readable by any recent runtime
    onnx.checker.check_model(model, full_check=True)
    return model


def batches(x, batch):
    """Yield (rows, padded batch): the last one is padded with zeros."""
    for start in range(0, len(x), batch):
        chunk = x[start:start + batch]
        padded = np.zeros((batch, x.shape[1]), np.float32)
        padded[:len(chunk)] = chunk
        yield len(chunk), padded


def evaluate_ort(model_path, x, batch):
    opts = ort.SessionOptions()
    # One thread: the generated C code is single-threaded by default, so this
    # is the like-for-like comparison.
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model_path, opts,
                                providers=["CPUExecutionProvider"])
    probs = np.concatenate([sess.run(["probs"], {"pixels": padded})[0][:rows]
                            for rows, padded in batches(x, batch)])

    first = next(batches(x, batch))[1]
    for _ in range(20):  # warm up caches and ORT's lazy initialisation
        sess.run(["probs"], {"pixels": first})
    times = []
    for _ in range(TIMED_RUNS):
        t0 = time.perf_counter_ns()
        sess.run(["probs"], {"pixels": first})
        times.append(time.perf_counter_ns() - t0)
    return probs, statistics.median(times) / 1000.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--batch", type=int, default=0,
                    help="model batch size (default: the whole test split)")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)

    digits = load_digits()
    x = digits.data.astype(np.float32)
    y = digits.target.astype(np.int32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=SEED, stratify=y)
    batch = args.batch or len(x_test)

    mlp = train(x_train, y_train)
    model = export(mlp, batch)
    model_path = os.path.join(args.outdir, "digits.onnx")
    onnx.save(model, model_path)
    x_test.astype("<f4").tofile(os.path.join(args.outdir, "test_x.bin"))
    y_test.astype("<i4").tofile(os.path.join(args.outdir, "test_y.bin"))

    probs, median_us = evaluate_ort(model_path, x_test, batch)
    correct = int(np.sum(np.argmax(probs, axis=1) == y_test))
    total = len(y_test)
    # Guards the hand-written export: ORT on the ONNX file must compute the
    # probabilities the trained sklearn model computes (float32 vs float64).
    export_err = float(np.max(np.abs(
        probs - mlp.predict_proba(x_test / PIXEL_MAX))))
    line = (f"correct={correct} total={total} accuracy={correct / total:.6f} "
            f"batch={batch} median_us={median_us:.2f}")
    with open(os.path.join(args.outdir, "ort.txt"), "w") as f:
        f.write(line + "\n")
    print(f"wrote {model_path} ({len(x_train)} train / {total} test digits)")
    print(f"ONNX Runtime: {correct}/{total} correct "
          f"(accuracy {correct / total:.4f}); median {median_us:.1f} us "
          f"per batch of {batch}; max |ORT - sklearn| = {export_err:.1e}")
    if export_err > 1e-4:
        raise SystemExit("export error: ONNX Runtime and sklearn disagree")


if __name__ == "__main__":
    main()
