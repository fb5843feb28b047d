"""Check the bad-input corpus itself, without dlc.

usage: python check_corpus.py

For every case, writes the model twice into a temporary folder: as shipped
(bad) and with its defect removed (good). The good one must load, pass
onnx.checker and run in ONNX Runtime; the bad one should be rejected by at
least one of them. A bad model that all of them accept is reported, not
failed: some defects (a symlink out of the model's folder, an int64 overflow
that wraps to a plausible size) are dlc's rules, not ONNX Runtime's.
Exit 1 if a good variant fails, or the corpus is inconsistent.
"""
import multiprocessing
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_bad  # noqa: E402

MAX_RUN_ELEMENTS = 1 << 20  # do not feed ORT an input bigger than this
ort.set_default_logger_severity(4)  # its rejections are reported below


def first_line(err):
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:110]


def zeros_for(value_info):
    """A zero input for a graph input, or None if its shape is not usable."""
    dims = [d.dim_value if d.HasField("dim_value") else -1
            for d in value_info.type.tensor_type.shape.dim]
    count = np.prod(dims, dtype=object)
    if any(d < 0 for d in dims) or count > MAX_RUN_ELEMENTS:
        return None
    dtype = onnx.helper.tensor_dtype_to_np_dtype(
        value_info.type.tensor_type.elem_type)
    return np.zeros(dims, dtype)


def verdict(path):
    """None if onnx + ONNX Runtime accept and run the model, else who
    rejected it and why."""
    try:
        model = onnx.load(path)  # reads external data too
    except Exception as e:  # noqa: BLE001 - any failure is a rejection
        return f"onnx.load: {first_line(e)}"
    if not model.HasField("graph"):
        return "no graph after loading"
    try:
        onnx.checker.check_model(path, full_check=True)
    except Exception as e:  # noqa: BLE001
        return f"onnx.checker: {first_line(e)}"
    # ONNX Runtime runs in a child: some hostile models crash it (a Sum
    # with an omitted input is a segmentation fault there).
    parent, child = multiprocessing.Pipe(duplex=False)
    proc = multiprocessing.get_context("fork").Process(target=ort_verdict,
                                                       args=(path, model, child))
    proc.start()
    child.close()
    try:
        result = parent.recv() if parent.poll(120) else "onnxruntime: no answer"
    except EOFError:  # it died first
        result = "onnxruntime: exited without an answer"
    proc.join(10)
    if proc.is_alive():
        proc.kill()
        proc.join()
    if proc.exitcode and proc.exitcode < 0:
        return f"onnxruntime: crashed (signal {-proc.exitcode})"
    return result


def ort_verdict(path, model, conn):
    """verdict()'s ONNX Runtime part, sent through conn."""
    try:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        feeds = {}
        for vi in model.graph.input:
            if any(vi.name == t.name for t in model.graph.initializer):
                continue
            feeds[vi.name] = zeros_for(vi)
        if all(v is not None for v in feeds.values()):
            sess.run(None, feeds)
    except Exception as e:  # noqa: BLE001
        conn.send(f"onnxruntime: {first_line(e)}")
        return
    conn.send(None)


def main():
    problems = 0
    names = [c.name for c in make_bad.CASES]
    if len(set(names)) != len(names):
        print("FAIL: duplicate case names")
        problems += 1
    with tempfile.TemporaryDirectory() as tmp:
        bad_dir, good_dir = os.path.join(tmp, "bad"), os.path.join(tmp, "good")
        cases = make_bad.write_corpus(bad_dir, bad=True)
        make_bad.write_corpus(good_dir, bad=False)
        for c in cases:
            if not c["expect_substrings"]:
                print(f"FAIL {c['name']}: no expected substrings")
                problems += 1
            good = verdict(os.path.join(good_dir, c["file"]))
            bad = verdict(os.path.join(bad_dir, c["file"]))
            if good is not None:
                print(f"FAIL {c['name']}: the good variant is rejected: "
                      f"{good}")
                problems += 1
            elif bad is None:
                print(f"note {c['name']}: onnx and ONNX Runtime accept it "
                      f"({c['why']})")
            else:
                print(f"ok   {c['name']}: {bad}")
    print(f"{len(names)} cases, {problems} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
