"""End-to-end checks of the dlc command line and the generated-code contract.

Each check builds a small model with onnx.helper, runs dlc, and compares
what the generated code computes with ONNX Runtime (atol 1e-5, rtol 1e-4).
Prints `ok NAME` / `FAIL NAME: why`, then `N passed, M failed`.
"""
import argparse
import ctypes
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import info_checks  # noqa: E402  (dlc info's checks)

CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"]


def mlp_model(batch="batch", hidden=16):
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((8, hidden)).astype(np.float32)
    b1 = rng.standard_normal(hidden).astype(np.float32)
    w2 = rng.standard_normal((hidden, 4)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
        helper.make_node("Add", ["h", "b1"], ["hb"], name="bias1"),
        helper.make_node("Relu", ["hb"], ["r"], name="relu1"),
        helper.make_node("MatMul", ["r", "w2"], ["y"], name="fc2"),
    ]
    inits = [onnx.numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"))]
    g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 4])], inits)
    return make_model(g)


def make_model(g):
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8  # what the pinned ONNX Runtime reads
    return m


def elementwise_model(dims):
    nodes = [helper.make_node("Add", ["x", "x"], ["s"], name="add"),
             helper.make_node("Tanh", ["s"], ["y"], name="tanh")]
    g = helper.make_graph(nodes, "ew", [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)])
    return make_model(g)


class Ctx:
    def __init__(self, dlc, work):
        self.dlc, self.work = dlc, work
        self.passed, self.failed = 0, 0

    def path(self, name):
        return os.path.join(self.work, name)

    def save(self, model, name):
        p = self.path(name)
        onnx.save(model, p)
        return p

    def dlc_run(self, *args):
        return subprocess.run([self.dlc, *args], capture_output=True, text=True, timeout=120)


def build_shared(ctx, c_file, cc="cc"):
    so = c_file[:-2] + "_" + cc + ".so"
    r = subprocess.run([cc, *CFLAGS, "-fPIC", "-shared", "-o", so, c_file, "-lm"],
                       capture_output=True, text=True)
    if r.returncode:
        raise AssertionError(f"{cc} failed: {r.stderr[:400]}")
    return ctypes.CDLL(so)


def run_generated(lib, prefix, inputs, out_shapes, weights=None):
    ins = (ctypes.c_void_p * max(1, len(inputs)))(*[a.ctypes.data for a in inputs])
    outs_np = [np.empty(s, np.float32) for s in out_shapes]
    outs = (ctypes.c_void_p * len(outs_np))(*[o.ctypes.data for o in outs_np])
    fn = getattr(lib, prefix + "_run")
    rc = fn(ctypes.c_void_p(weights.ctypes.data), ins, outs) if weights is not None else fn(ins, outs)
    if rc != 0:
        raise AssertionError(f"{prefix}_run returned {rc}")
    return outs_np


def ort_run(model_path, feeds):
    s = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    return s.run(None, feeds)


def close(a, b):
    return np.allclose(a, b, atol=1e-5, rtol=1e-4)


# ---- checks: each raises AssertionError with the reason ----

def check_usage(ctx):
    assert ctx.dlc_run("--version").returncode == 0
    h = ctx.dlc_run("--help")
    assert h.returncode == 0 and "--weights" in h.stdout
    for args in ([], ["--bogus"], [ctx.save(mlp_model(), "u.onnx")], ["a.onnx", "-o"],
                 ["a.onnx", "-o", "x.c", "--weights", "nope"], ["a.onnx", "-o", "x.c", "--shape", "x=2y3"]):
        r = ctx.dlc_run(*args)
        assert r.returncode == 2, f"{args}: exit {r.returncode}"
    # an unknown GEMM backend: a usage error that names the choices, for compile, check, bench
    m = ctx.save(mlp_model(), "blas.onnx")
    for args in ([m, "-o", ctx.path("blas.c"), "--blas", "foo"], ["check", m, ".", "--blas", "foo"],
                 ["bench", m, "--blas", "foo"], [m, "-o", ctx.path("blas.c"), "--blas"]):
        r = ctx.dlc_run(*args)
        assert r.returncode == 2 and "--blas" in r.stderr, f"{args}: exit {r.returncode} {r.stderr}"
        assert args[-1] == "--blas" or "'builtin' or 'openblas'" in r.stderr, r.stderr
    assert not os.path.exists(ctx.path("blas.c"))


def check_blas_option(ctx):
    """--blas builtin is the default and changes nothing; only --blas openblas
    brings <cblas.h>, and then both files say so at the top."""
    m = ctx.save(mlp_model(batch=3), "blasopt.onnx")
    text = {}
    for name, opts in (("default", []), ("builtin", ["--blas", "builtin"]),
                       ("openblas", ["--blas", "openblas"])):
        os.makedirs(ctx.path(f"blas_{name}"), exist_ok=True)
        out = ctx.path(f"blas_{name}/m.c")
        r = ctx.dlc_run(m, "-o", out, *opts)
        assert r.returncode == 0, r.stderr
        text[name] = [open(out).read(), open(out[:-2] + ".h").read()]
    strip = lambda t: re.sub(r"\* Options: .*\n", "", t)  # noqa: E731
    for a, b in zip(text["default"], text["builtin"]):
        assert strip(a) == strip(b), "--blas builtin changed the generated code"
        assert "cblas" not in a and "openblas" not in a.lower()
    c, h = text["openblas"]
    assert "#include <cblas.h>" in c and "cblas_sgemm(" in c and "rt_blas_sgemm_ep(" in c
    for t in (c, h):
        assert "-lopenblas" in t.split("#include")[0], "the top comment must say -lopenblas"


def check_compile_and_run(ctx, cc="cc"):
    m = ctx.save(mlp_model(batch=3), "mlp3.onnx")
    out = ctx.path(f"mlp3_{cc}.c")
    r = ctx.dlc_run(m, "-o", out, "--name", "net")
    assert r.returncode == 0, r.stderr
    src = open(out).read()
    assert "Generated by dlc" in src and "mlp3.onnx" in src, "provenance comment"
    assert re.search(r"/\* node \d+ 'fc1[^']*' \(MatMul[^)]*\)", src), "per-kernel comment"
    assert not re.search(r"\bmalloc\s*\(", src), "generated code calls malloc"
    hdr = open(out[:-2] + ".h").read()
    for word in ("NET_NUM_INPUTS 1", "NET_NUM_OUTPUTS 1", "NET_WORKSPACE_SIZE", "net_run_with_workspace",
                 "net_status", "net_inputs", "'x': float32 [3,8]"):
        assert word in hdr, f"header lacks {word!r}"
    x = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
    got = run_generated(build_shared(ctx, out, cc), "net", [x], [(3, 4)])[0]
    exp = ort_run(m, {"x": x})[0]
    assert close(got, exp), f"max diff {np.abs(got - exp).max()}"


def check_clang(ctx):
    check_compile_and_run(ctx, "clang")


def check_deterministic(ctx):
    """The same model and options give byte-identical files: run to run, and
    from another folder with absolute paths. The provenance comment names the
    model's base name and the options (a --freeze file by its base name),
    never a path or the raw command line."""
    runs = []
    for sub, absolute in (("det_a", False), ("det_a", False), ("det_b/deeper", True)):
        folder = os.path.abspath(ctx.path(sub))
        os.makedirs(os.path.join(folder, "out"), exist_ok=True)
        onnx.save(reshape_by_input_model(), os.path.join(folder, "det.onnx"))
        with open(os.path.join(folder, "shape.pb"), "wb") as f:
            f.write(onnx.numpy_helper.from_array(np.array([4, -1, 2], np.int64)).SerializeToString())
        at = (lambda p: os.path.join(folder, p)) if absolute else (lambda p: p)  # noqa: E731
        r = subprocess.run([ctx.dlc, at("det.onnx"), "-o", at("out/det.c"), "--name", "det",
                            "--weights", "file", "--freeze", "shape=" + at("shape.pb"), "-v"],
                           cwd=folder, capture_output=True, timeout=120)
        assert r.returncode == 0, r.stderr.decode()
        runs.append([open(os.path.join(folder, "out", "det" + ext), "rb").read()
                     for ext in (".c", ".h", ".weights")])
    for ext, a, b, c in zip((".c", ".h", ".weights"), *runs):
        assert a == b, f"det{ext} differs between two runs"
        assert a == c, f"det{ext} differs when compiled from another folder by absolute paths"
    top = runs[0][0].decode().split("*/")[0]
    assert "Options: --name det --weights file --freeze shape=shape.pb\n" in top, top
    assert "det_b" not in runs[2][0].decode() and "det_b" not in runs[2][1].decode()


def check_weights_file(ctx):
    m = ctx.save(mlp_model(batch=2), "wf.onnx")
    out = ctx.path("wf.c")
    r = ctx.dlc_run(m, "-o", out, "--weights", "file")
    assert r.returncode == 0, r.stderr
    blob = np.fromfile(ctx.path("wf.weights"), dtype=np.uint8)
    hdr = open(ctx.path("wf.h")).read()
    size = int(re.search(r"WF_WEIGHTS_SIZE (\d+)u", hdr).group(1))
    assert size == blob.size, f"header says {size}, file has {blob.size}"
    assert "wf_weights" not in open(out).read(), "weights leaked into the source"
    # 64-byte aligned copy of the blob
    buf = np.zeros(blob.size + 64, np.uint8)
    off = (-buf.ctypes.data) % 64
    aligned = buf[off:off + blob.size]
    aligned[:] = blob
    x = np.random.default_rng(2).standard_normal((2, 8)).astype(np.float32)
    got = run_generated(build_shared(ctx, out), "wf", [x], [(2, 4)], weights=aligned)[0]
    assert close(got, ort_run(m, {"x": x})[0])


def check_weights_incbin(ctx):
    """--weights incbin: OUT.weights assembled into the object (gcc and
    clang, a shared library), the API of embed; built from another folder
    with the file moved, through PREFIX_WEIGHTS_PATH."""
    m = ctx.save(mlp_model(batch=2), "wi.onnx")
    out = ctx.path("wi.c")
    r = ctx.dlc_run(m, "-o", out, "--weights", "incbin")
    assert r.returncode == 0, r.stderr
    src, hdr = open(out).read(), open(ctx.path("wi.h")).read()
    assert ".incbin" in src and "wi_weights =" not in src, "weights not included by .incbin"
    assert "WI_WEIGHTS_SIZE" not in hdr and "const void *weights" not in hdr, hdr
    x = np.random.default_rng(3).standard_normal((2, 8)).astype(np.float32)
    want = ort_run(m, {"x": x})[0]
    for cc in ("cc", "clang"):
        got = run_generated(build_shared(ctx, out, cc), "wi", [x], [(2, 4)])[0]
        assert close(got, want), cc
    moved = ctx.path("moved")
    os.makedirs(moved, exist_ok=True)
    os.replace(ctx.path("wi.weights"), os.path.join(moved, "w.bin"))
    so = ctx.path("wi_moved.so")
    r = subprocess.run(["cc", *CFLAGS, "-fPIC", "-shared", "-o", so, out, "-lm",
                        f'-DWI_WEIGHTS_PATH="{os.path.join(moved, "w.bin")}"'],
                       capture_output=True, text=True, cwd="/")
    assert r.returncode == 0, r.stderr[:400]
    got = run_generated(ctypes.CDLL(so), "wi", [x], [(2, 4)])[0]
    assert close(got, want), "moved weights"


def check_external_past_4gib(ctx):
    """External data at an offset past 4 GiB (and 2 GiB) of a sparse file:
    read with 64-bit offsets, the same numbers as ONNX Runtime."""
    folder = os.path.abspath(ctx.path("ext4g"))
    os.makedirs(folder, exist_ok=True)
    w = np.random.default_rng(9).standard_normal((3, 4)).astype(np.float32)
    offset = (1 << 32) + 4096
    with open(os.path.join(folder, "big.bin"), "wb") as f:
        f.truncate(offset)          # a hole: no disk used
        f.seek(offset)
        f.write(w.tobytes())
    t = onnx.TensorProto(name="W", data_type=TensorProto.FLOAT, dims=w.shape,
                         data_location=TensorProto.EXTERNAL)
    for key, value in (("location", "big.bin"), ("offset", offset), ("length", w.nbytes)):
        e = t.external_data.add()
        e.key, e.value = key, str(value)
    g = helper.make_graph([helper.make_node("Add", ["x", "W"], ["y"])], "ext",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])], [t])
    m = os.path.join(folder, "ext.onnx")
    with open(m, "wb") as f:
        f.write(make_model(g).SerializeToString())
    out = os.path.join(folder, "ext.c")
    r = ctx.dlc_run(m, "-o", out)
    assert r.returncode == 0, r.stderr
    x = np.random.default_rng(10).standard_normal((3, 4)).astype(np.float32)
    got = run_generated(build_shared(ctx, out), "ext", [x], [(3, 4)])[0]
    assert close(got, ort_run(m, {"x": x})[0])
    os.remove(os.path.join(folder, "big.bin"))


def check_shapes(ctx):
    m = ctx.save(mlp_model(batch="batch"), "sym.onnx")
    r = ctx.dlc_run(m, "-o", ctx.path("sym.c"))
    assert r.returncode == 0 and "warning" in r.stderr and "batch" in r.stderr, r.stderr
    assert "'x': float32 [1,8]" in open(ctx.path("sym.h")).read()
    r = ctx.dlc_run(m, "-o", ctx.path("sym5.c"), "--shape", "x=5x8")
    assert r.returncode == 0, r.stderr
    assert "'x': float32 [5,8]" in open(ctx.path("sym5.h")).read()
    # a symbolic dim that is not the leading batch dim must be bound
    m2 = ctx.save(elementwise_model([2, "n"]), "sym2.onnx")
    out = ctx.path("sym2.c")
    for stale in (out, out[:-2] + ".h"):
        if os.path.exists(stale):
            os.remove(stale)
    r = ctx.dlc_run(m2, "-o", out)
    assert r.returncode == 1 and "'x'" in r.stderr and "'n'" in r.stderr, r.stderr
    assert not os.path.exists(out) and not os.path.exists(out[:-2] + ".h"), "wrote output on failure"
    r = ctx.dlc_run(m2, "-o", out, "--shape", "x=2x7")
    assert r.returncode == 0, r.stderr
    r = ctx.dlc_run(m2, "-o", ctx.path("sym3.c"), "--shape", "nosuch=2x7")
    assert r.returncode == 1 and "nosuch" in r.stderr


def check_runtime_dim_options(ctx):
    """--shape ranges: bad ones are usage errors (exit 2), a range on a
    dim the model fixes is a model error (exit 1), nothing written; a good
    one writes a header with the dims, and bench takes --dim within it."""
    m = ctx.save(elementwise_model([2, "n"]), "rt.onnx")
    out = ctx.path("rt.c")
    for stale in (out, ctx.path("rt.h")):
        if os.path.exists(stale):
            os.remove(stale)
    for bad in ("x=2x8..4", "x=2x0..4", "x=2x4..", "x=2x1..10/4", "x=2x1..9/0"):
        r = ctx.dlc_run(m, "-o", out, "--shape", bad)
        assert r.returncode == 2 and "--shape" in r.stderr, f"{bad}: exit {r.returncode} {r.stderr}"
    r = ctx.dlc_run(m, "-o", out, "--shape", "x=1..3x1..64")
    assert r.returncode == 1 and "fixed at 2" in r.stderr, r.stderr
    assert not os.path.exists(out)
    for bad in ("--buckets", "0"), ("--buckets", "9"), ("--buckets", "x"):
        r = ctx.dlc_run(m, "-o", out, "--shape", "x=2x1..64", *bad)
        assert r.returncode == 2 and "--buckets" in r.stderr, f"{bad}: {r.stderr}"
    r = ctx.dlc_run(m, "-o", out, "--shape", "x=2x1..64/3", "--buckets", "2")
    assert r.returncode == 0, r.stderr
    h = open(ctx.path("rt.h")).read()
    assert "RT_NUM_DIMS 1" in h and "'n': 1..64 in steps of 3" in h and "RT_ERR_DIM = 4" in h, h
    assert "[2,n]" in h and "Compiled in 2 size buckets" in h, h
    r = ctx.dlc_run("bench", m, "--shape", "x=2x1..64/3", "--dim", "n=5", "--runs", "2")
    assert r.returncode == 2 and "--dim" in r.stderr, r.stderr
    r = ctx.dlc_run("bench", m, "--shape", "x=2x1..64/3", "--dim", "n=7", "--runs", "2")
    assert r.returncode == 0, r.stderr


def check_minus_one_dim(ctx):
    """A dim written as dim_value -1 (as some exporters do) is unknown, not an
    error: --shape binds it, and without a binding the message says how."""
    m = elementwise_model([2, 3])
    m.graph.input[0].type.tensor_type.shape.dim[1].dim_value = -1
    p = ctx.save(m, "minus1.onnx")
    r = ctx.dlc_run(p, "-o", ctx.path("minus1_unbound.c"))
    assert r.returncode == 1 and "'x': dim 1 is unknown" in r.stderr and "--shape x=" in r.stderr, r.stderr
    assert not os.path.exists(ctx.path("minus1_unbound.c")), "wrote output on failure"
    x = np.random.default_rng(5).standard_normal((2, 7)).astype(np.float32)
    out = ctx.path("minus1.c")
    r = ctx.dlc_run(p, "-o", out, "--name", "minus1", "--shape", "x=2x7")
    assert r.returncode == 0, r.stderr
    got = run_generated(build_shared(ctx, out), "minus1", [x], [(2, 7)])[0]
    m.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "n"   # ONNX Runtime rejects -1
    m.graph.output[0].type.tensor_type.shape.dim[1].dim_param = "n"
    exp = ort_run(ctx.save(m, "minus1_ort.onnx"), {"x": x})[0]
    assert close(got, exp), f"max diff {np.abs(got - exp).max()}"


def reshape_by_input_model():
    """y = Reshape(x * 2, shape): `shape` is a graph input, as a model's
    fixed-at-deployment setting would be."""
    nodes = [helper.make_node("Add", ["x", "x"], ["s"], name="double"),
             helper.make_node("Reshape", ["s", "shape"], ["y"], name="reshape")]
    g = helper.make_graph(nodes, "rs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4]),
                                        helper.make_tensor_value_info("shape", TensorProto.INT64, [3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return make_model(g)


def write_pb(ctx, name, array):
    p = ctx.path(name)
    with open(p, "wb") as f:
        f.write(onnx.numpy_helper.from_array(array).SerializeToString())
    return p


def check_freeze(ctx):
    """--freeze NAME=FILE.pb makes a graph input a constant: the refusal names
    it, the frozen build drops it from the header and matches ONNX Runtime,
    dlc check feeds the rest from the data set, and bad uses are errors."""
    m = ctx.save(reshape_by_input_model(), "freeze.onnx")
    shape = np.array([4, -1, 2], np.int64)
    spb = write_pb(ctx, "freeze_shape.pb", shape)
    r = ctx.dlc_run(m, "-o", ctx.path("freeze_no.c"))
    assert r.returncode == 1 and "depends on graph input 'shape'" in r.stderr, r.stderr
    assert "--freeze shape=FILE.pb" in r.stderr, r.stderr
    out = ctx.path("freeze.c")
    r = ctx.dlc_run(m, "-o", out, "--name", "frz", "--freeze", "shape=" + spb)
    assert r.returncode == 0, r.stderr
    hdr = open(ctx.path("freeze.h")).read()
    assert "FRZ_NUM_INPUTS 1" in hdr and "/* input 0 'x': float32 [2,3,4] */" in hdr, hdr
    assert "'shape': int64 [3], frozen at compile time" in hdr, hdr
    x = np.random.default_rng(6).standard_normal((2, 3, 4)).astype(np.float32)
    got = run_generated(build_shared(ctx, out), "frz", [x], [(4, 3, 2)])[0]
    exp = ort_run(m, {"x": x, "shape": shape})[0]
    assert exp.shape == (4, 3, 2) and close(got, exp), f"max diff {np.abs(got - exp).max()}"
    # dlc check: input_0 is fed, input_1 must equal the frozen value
    ds = ctx.path("freeze_set")
    os.makedirs(ds, exist_ok=True)
    write_pb(ctx, "freeze_set/input_0.pb", x)
    write_pb(ctx, "freeze_set/input_1.pb", shape)
    write_pb(ctx, "freeze_set/output_0.pb", exp)
    r = ctx.dlc_run("check", m, ds, "--freeze", "shape=" + spb)
    assert r.returncode == 0 and "check: PASS" in r.stdout, r.stdout + r.stderr
    other = write_pb(ctx, "freeze_other.pb", np.array([2, 12, 1], np.int64))
    r = ctx.dlc_run("check", m, ds, "--freeze", "shape=" + other)
    assert r.returncode == 1 and "input_1.pb differs from the value --freeze gave input 'shape'" in r.stderr, \
        r.stdout + r.stderr
    r = ctx.dlc_run("bench", m, "--runs", "2", "--warmup", "0", "--freeze", "shape=" + spb)
    assert r.returncode == 0, r.stdout + r.stderr
    # bad uses: each an error that says what is wrong, nothing written
    garbage = ctx.path("freeze_garbage.pb")
    with open(garbage, "wb") as f:
        f.write(b"\xff\xff\xff")
    bad = [(["nosuch=" + spb], 1, "--freeze names 'nosuch', which is not a graph input"),
           (["shape=" + write_pb(ctx, "freeze_i32.pb", shape.astype(np.int32))], 1,
            "holds int32 [3] but the input is declared int64 [3]"),
           (["shape=" + write_pb(ctx, "freeze_long.pb", np.array([4, 3, 2, 1], np.int64))], 1,
            "holds int64 [4] but the input is declared int64 [3]"),
           (["shape=" + ctx.path("missing.pb")], 1, "missing.pb"),
           (["shape=" + garbage], 1, "not a serialized TensorProto"),
           (["shape=" + spb, "shape=" + spb], 1, "--freeze names 'shape' twice"),
           (["shape"], 2, "expected NAME=FILE.pb"), (["=" + spb], 2, "expected NAME=FILE.pb")]
    for freezes, code, text in bad:
        out = ctx.path("freeze_bad.c")
        args = [a for f in freezes for a in ("--freeze", f)]
        r = ctx.dlc_run(m, "-o", out, *args)
        assert r.returncode == code and text in r.stderr, f"{freezes}: exit {r.returncode}: {r.stderr}"
        assert not os.path.exists(out), f"{freezes}: wrote output on failure"
    r = ctx.dlc_run("--help")
    assert "--freeze NAME=FILE.pb" in r.stdout


def check_verbose(ctx):
    m = ctx.save(mlp_model(batch=4), "v.onnx")
    r = ctx.dlc_run(m, "-o", ctx.path("v.c"), "-v")
    assert r.returncode == 0
    for word in ("pass infer+fold", "pass select-c", "pass plan-memory", "pass mark-parallel",
                 "arena", "naive"):
        assert word in r.stderr, f"-v lacks {word!r}"
    # --help names the target's selection pass and the parallel marking
    r = ctx.dlc_run("--help")
    assert r.returncode == 0 and "select-c" in r.stdout and "mark-parallel" in r.stdout, r.stdout


def check_workspace_reentrant(ctx):
    """Two workspaces, interleaved calls, same answers as ONNX Runtime."""
    m = ctx.save(mlp_model(batch=2, hidden=64), "re.onnx")
    out = ctx.path("re.c")
    assert ctx.dlc_run(m, "-o", out).returncode == 0
    lib = build_shared(ctx, out)
    size = int(re.search(r"RE_WORKSPACE_SIZE (\d+)u", open(ctx.path("re.h")).read()).group(1))
    assert size > 0, "expected a workspace"
    fn = lib.re_run_with_workspace
    xs = [np.random.default_rng(s).standard_normal((2, 8)).astype(np.float32) for s in (3, 4)]
    wss = []
    for _ in xs:
        buf = np.zeros(size + 64, np.uint8)
        off = (-buf.ctypes.data) % 64
        wss.append((buf, buf[off:off + size]))
    outs = [np.empty((2, 4), np.float32) for _ in xs]
    for x, (_, ws), o in zip(xs, wss, outs):
        ins = (ctypes.c_void_p * 1)(x.ctypes.data)
        ob = (ctypes.c_void_p * 1)(o.ctypes.data)
        assert fn(ins, ob, ctypes.c_void_p(ws.ctypes.data)) == 0
    for x, o in zip(xs, outs):
        assert close(o, ort_run(m, {"x": x})[0])
    misaligned = ctypes.c_void_p(wss[0][1].ctypes.data + 4)
    ins = (ctypes.c_void_p * 1)(xs[0].ctypes.data)
    ob = (ctypes.c_void_p * 1)(outs[0].ctypes.data)
    assert fn(ins, ob, misaligned) == 2, "misaligned workspace must give ERR_ALIGN"


def check_threads_tsan(ctx):
    """One model run from 4 threads at once, each with its own workspace,
    under ThreadSanitizer (tests/cli/reentrant_main.c): no report, every run
    bit-identical to a single-threaded first run, which matches ONNX Runtime.
    Skipped (passes) where cc cannot build with -fsanitize=thread."""
    here = os.path.dirname(os.path.abspath(__file__))
    probe = subprocess.run(["cc", "-fsanitize=thread", "-x", "c", "-", "-o", ctx.path("tsan_probe")],
                           input="int main(void){return 0;}", capture_output=True, text=True)
    if probe.returncode:
        print("  (skipped: cc cannot build with -fsanitize=thread)")
        return
    for name, model, shape in (("tsan_conv", conv_model(), (1, 16, 1, 1)),
                               ("tsan_mlp", mlp_model(batch=3, hidden=64), (3, 4))):
        m = ctx.save(model, name + ".onnx")
        out = ctx.path(name + ".c")
        r = ctx.dlc_run(m, "-o", out, "--name", "net")
        assert r.returncode == 0, r.stderr
        exe = ctx.path(name + "_tsan")
        r = subprocess.run(["cc", *CFLAGS, "-O1", "-g", "-fsanitize=thread", "-D_POSIX_C_SOURCE=200809L",
                            f'-DMODEL_H="{name}.h"', "-DPREFIX=net", "-DUPREFIX=NET",
                            "-I", os.path.dirname(out), os.path.join(here, "reentrant_main.c"), out,
                            "-o", exe, "-lm", "-lpthread"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-800:]
        ref = ctx.path(name + "_ref.bin")
        r = subprocess.run([exe, "4", "20", ref], capture_output=True, text=True, timeout=600,
                           env=dict(os.environ, TSAN_OPTIONS="halt_on_error=1 exitcode=66"))
        assert r.returncode == 0 and "ThreadSanitizer" not in r.stderr, (r.stdout + r.stderr)[-1500:]
        x = np.fromfile(ref + ".in0", np.float32).reshape(
            [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim])
        got = np.fromfile(ref, np.float32).reshape(shape)
        assert close(got, ort_run(m, {"x": x})[0]), f"{name}: differs from ONNX Runtime"


def conv_model():
    """conv1 -> relu1 -> conv2 (2 groups) -> gap: small, but its kernels dominate a run."""
    rng = np.random.default_rng(5)
    w1 = (rng.standard_normal((16, 8, 3, 3)) * 0.2).astype(np.float32)
    b1 = rng.standard_normal(16).astype(np.float32)
    w2 = (rng.standard_normal((16, 8, 3, 3)) * 0.2).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1], group=2),
        helper.make_node("GlobalAveragePool", ["c2"], ["y"], name="gap"),
    ]
    inits = [onnx.numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"))]
    g = helper.make_graph(nodes, "convnet", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 32, 32])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 1, 1])], inits)
    return make_model(g)


# 2 N M OH OW (C / group) KH KW
CONV_FLOPS = {"conv1": 2 * 1 * 16 * 32 * 32 * 8 * 3 * 3, "conv2": 2 * 1 * 16 * 32 * 32 * (16 // 2) * 3 * 3}
# the least bytes each conv moves: input, weights (and bias), output, float32
CONV_BYTES = {"conv1": 4 * (8 * 32 * 32 + 16 * 8 * 9 + 16 + 16 * 32 * 32),
              "conv2": 4 * (16 * 32 * 32 + 16 * 8 * 9 + 16 * 32 * 32)}


def bench_json(ctx, *args):
    r = ctx.dlc_run("bench", *args, "--json")
    assert r.returncode == 0, f"bench {args}: exit {r.returncode}: {r.stderr[-600:]}"
    return json.loads(r.stdout)


def check_bench(ctx):
    m = ctx.save(mlp_model(batch=4, hidden=64), "bench.onnx")
    d = bench_json(ctx, m, "--runs", "5", "--warmup", "2")
    assert d["runs"] == 5 and d["warmup"] == 2 and d["threads"] == 1, d
    assert len(d["times_ms"]) == 5 and all(t > 0 for t in d["times_ms"]), d["times_ms"]
    assert 0 < d["min_ms"] <= d["median_ms"] <= d["p90_ms"], d
    assert d["min_ms"] == min(d["times_ms"]) and d["p90_ms"] <= max(d["times_ms"]), d
    assert d["throughput_per_s"] > 0 and "-O3" in d["cflags"], d
    assert "profile" not in d, "profile without --profile"
    r = ctx.dlc_run("bench", m, "--runs", "3")
    assert r.returncode == 0, r.stderr
    for word in ("latency: min", "median", "p90", "throughput:", "inferences/s"):
        assert word in r.stdout, f"bench output lacks {word!r}: {r.stdout}"
    # an int64 input gets valid indices; --inputs reads a dataset instead
    rng = np.random.default_rng(6)
    table = onnx.numpy_helper.from_array(rng.standard_normal((10, 4)).astype(np.float32), "table")
    g = helper.make_graph([helper.make_node("Gather", ["table", "ids"], ["y"], name="emb")], "emb",
                          [helper.make_tensor_value_info("ids", TensorProto.INT64, [2, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4])], [table])
    e = ctx.save(make_model(g), "bench_ids.onnx")
    assert bench_json(ctx, e, "--runs", "2")["runs"] == 2
    ds = ctx.path("bench_ds")
    os.makedirs(ds, exist_ok=True)
    x = rng.standard_normal((4, 8)).astype(np.float32)
    open(os.path.join(ds, "input_0.pb"), "wb").write(onnx.numpy_helper.from_array(x, "x").SerializeToString())
    assert bench_json(ctx, m, "--runs", "2", "--inputs", ds)["runs"] == 2
    r = ctx.dlc_run("bench", e, "--inputs", ds)
    assert r.returncode == 1 and "input_0.pb" in r.stderr, r.stderr
    bad = ctx.path("bench_bad.onnx")
    open(bad, "wb").write(b"\x08\x07garbage")
    assert ctx.dlc_run("bench", bad).returncode == 1
    for args in ([], [m, "--runs", "0"], [m, "--warmup", "x"], [m, "--threads"], [m, "-o", "x.c"],
                 [m, "--peak-gflops", "-3"], [m, "--nope"]):
        r = ctx.dlc_run("bench", *args)
        assert r.returncode == 2, f"bench {args}: exit {r.returncode}"
    env = dict(os.environ, CC="false")
    r = subprocess.run([ctx.dlc, "bench", m, "--runs", "1"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 3 and "did not compile" in r.stderr, (r.returncode, r.stderr)


def check_bench_profile(ctx):
    m = ctx.save(conv_model(), "bprof.onnx")
    d = bench_json(ctx, m, "--profile", "--runs", "5", "--top", "3")
    p = d["profile"]
    assert p["peak_source"] == "measured" and p["peak_gflops_per_core"] > 0, p
    ks = p["kernels"]   # all of them in JSON, whatever --top says
    names = {n for k in ks for n in k["names"].split("+")}
    for node in ("conv1", "relu1", "conv2", "gap"):
        assert node in names, f"profile lacks node {node}: {names}"
    assert sorted(k["index"] for k in ks) == list(range(len(ks)))
    assert all(k["ms"] >= 0 and 0 <= k["share"] <= 1 for k in ks), ks
    assert abs(sum(k["share"] for k in ks) - 1) < 1e-3
    assert abs(sum(k["ms"] for k in ks) - p["total_ms"]) < 1e-3 * max(1.0, p["total_ms"])
    # the kernels are timed inside each run: together about the whole run
    assert 0.5 * d["mean_ms"] <= p["total_ms"] <= 1.02 * d["mean_ms"] + 0.005, (p["total_ms"], d["mean_ms"])
    for k in ks:
        for node, flops in CONV_FLOPS.items():
            if node in k["names"].split("+"):
                assert k["flops"] >= flops and k["flops"] <= flops * 1.1, (node, k["flops"], flops)
        if k["flops"] > 0 and k["ms"] > 0:
            assert abs(k["gflops"] - k["flops"] / (k["ms"] * 1e6)) <= 0.01 * k["gflops"] + 1e-3, k
        # bytes: every tensor once (packed weights may be padded, hence the slack)
        for node, least in CONV_BYTES.items():
            if node in k["names"].split("+"):
                assert least <= k["bytes"] <= 1.5 * least + 4096, (node, k["bytes"], least)
        assert k["bytes"] > 0, k
        if k["ms"] > 0:
            assert abs(k["gbps"] - k["bytes"] / (k["ms"] * 1e6)) <= 0.01 * k["gbps"] + 1e-3, k
    r = ctx.dlc_run("bench", "--profile", m, "--runs", "3", "--top", "2", "--peak-gflops", "123.5")
    assert r.returncode == 0, r.stderr
    assert "peak: 123.5 GFLOP/s per core (given)" in r.stdout, r.stdout
    lines = r.stdout.splitlines()
    head = [i for i, ln in enumerate(lines) if "ms/run" in ln]
    assert len(head) == 1, r.stdout
    rows = [ln for ln in lines[head[0] + 1:] if ln.strip()]
    assert len(rows) == 2, f"--top 2 printed {len(rows)} rows: {r.stdout}"
    assert "conv" in r.stdout and "(Conv" in r.stdout, r.stdout
    assert "GB/s" in lines[head[0]], lines[head[0]]
    r = ctx.dlc_run("bench", "--profile", m, "--runs", "2")
    assert re.search(r"peak: [0-9.]+ GFLOP/s per core \(measured\)", r.stdout), r.stdout


def check_profile_build(ctx):
    """--profile: same numbers as ONNX Runtime, the profile tables filled in."""
    m = ctx.save(conv_model(), "prof.onnx")
    out = ctx.path("prof.c")
    r = ctx.dlc_run(m, "-o", out, "--name", "pnet", "--profile")
    assert r.returncode == 0, r.stderr
    hdr = open(ctx.path("prof.h")).read()
    for word in ("PNET_PROFILE_COUNT", "pnet_profile_names", "pnet_profile_ops", "pnet_profile_flops",
                 "pnet_profile_bytes", "pnet_profile_ns", "pnet_profile_reset", "not reentrant"):
        assert word in hdr, f"header lacks {word!r}"
    count = int(re.search(r"PNET_PROFILE_COUNT (\d+)", hdr).group(1))
    x = np.random.default_rng(7).standard_normal((1, 8, 32, 32)).astype(np.float32)
    exp = ort_run(m, {"x": x})[0]
    for cc in ("cc", "clang"):
        lib = build_shared(ctx, out, cc)
        got = run_generated(lib, "pnet", [x], [(1, 16, 1, 1)])[0]
        assert close(got, exp), f"{cc}: max diff {np.abs(got - exp).max()}"
        ns = (ctypes.c_ulonglong * count).in_dll(lib, "pnet_profile_ns")
        flops = (ctypes.c_double * count).in_dll(lib, "pnet_profile_flops")
        names = (ctypes.c_char_p * count).in_dll(lib, "pnet_profile_names")
        assert sum(ns) > 0, "no time recorded"
        by_name = {names[i].decode(): flops[i] for i in range(count)}
        assert "conv2" in by_name and "gap" in by_name, list(by_name)
        assert CONV_FLOPS["conv2"] <= by_name["conv2"] <= 1.1 * CONV_FLOPS["conv2"], by_name
        lib.pnet_profile_reset()
        assert sum(ns) == 0, "reset left time behind"
    # dlc check builds it with -std=c99 -Werror and compares
    ds = ctx.path("prof_data")
    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "..", "tools", "make_dataset.py"),
                    m, ds], check=True, capture_output=True)
    r = ctx.dlc_run("check", m, os.path.join(ds, "test_data_set_0"), "--profile")
    assert r.returncode == 0 and "check: PASS" in r.stdout, r.stdout + r.stderr


def check_no_profile_code(ctx):
    """Without --profile the output has no trace of profiling."""
    m = ctx.save(conv_model(), "noprof.onnx")
    out = ctx.path("noprof.c")
    assert ctx.dlc_run(m, "-o", out).returncode == 0
    for path in (out, out[:-2] + ".h"):
        text = open(path).read()
        for word in ("profile", "_POSIX_C_SOURCE", "<time.h>", "clock_gettime"):
            assert word not in text, f"{os.path.basename(path)} contains {word!r}"


def check_tensor_storage_forms(ctx):
    """Initializers in every TensorProto storage form dlc reads: typed fields
    (float_data, double_data, int32_data for int8/int16/bool/float16,
    int64_data, uint64_data for uint32/uint64) and external data files."""
    rng = np.random.default_rng(5)
    cases = [  # (dtype, numpy type, field)
        (TensorProto.FLOAT, np.float32, "float_data"), (TensorProto.DOUBLE, np.float64, "double_data"),
        (TensorProto.INT32, np.int32, "int32_data"), (TensorProto.INT16, np.int16, "int32_data"),
        (TensorProto.INT8, np.int8, "int32_data"), (TensorProto.UINT8, np.uint8, "int32_data"),
        (TensorProto.INT64, np.int64, "int64_data"), (TensorProto.UINT32, np.uint32, "uint64_data"),
        (TensorProto.UINT64, np.uint64, "uint64_data"),
    ]
    for dt, npt, field in cases:
        vals = (rng.standard_normal(6) * 20).astype(npt) if npt in (np.float32, np.float64) else \
            rng.integers(0, 100, 6).astype(npt)
        w = helper.make_tensor("w", dt, [2, 3], vals.tolist())   # typed field, not raw_data
        assert not w.raw_data and len(getattr(w, field)) == 6, field
        # Concat: ONNX Runtime implements it for every one of these dtypes
        g = helper.make_graph([helper.make_node("Concat", ["x", "w"], ["y"], name="cat", axis=0)], "t",
                              [helper.make_tensor_value_info("x", dt, [2, 3])],
                              [helper.make_tensor_value_info("y", dt, [4, 3])], [w])
        m = ctx.save(make_model(g), f"typed_{npt.__name__}.onnx")
        x = rng.integers(0, 20, (2, 3)).astype(npt)
        got = compile_and_call(ctx, m, f"typed_{npt.__name__}", [x], [((4, 3), npt)])[0]
        exp = ort_run(m, {"x": x})[0]
        assert np.array_equal(got, exp), f"{npt.__name__}: {got} vs {exp}"
    # float16 and bool live in int32_data as bit patterns / 0-1
    h = np.array([0.5, -2.25, 65504, 1e-4], np.float16)
    w = helper.make_tensor("w", TensorProto.FLOAT16, [4], h.view(np.uint16).astype(np.int32).tolist())
    w.ClearField("int32_data")
    w.int32_data.extend(h.view(np.uint16).astype(np.int32).tolist())
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"], name="add")], "t",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [4])], [w])
    m = ctx.save(make_model(g), "typed_f16.onnx")
    x = np.array([1, 2, -3, 0.25], np.float16)
    got = compile_and_call(ctx, m, "typed_f16", [x], [((4,), np.float16)])[0]
    assert np.array_equal(got, ort_run(m, {"x": x})[0]), got
    # external data next to the model
    model = mlp_model(batch=2)
    ext_dir = ctx.path("ext")
    os.makedirs(ext_dir, exist_ok=True)
    path = os.path.join(ext_dir, "ext.onnx")
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="ext.bin", size_threshold=0)
    assert os.path.getsize(os.path.join(ext_dir, "ext.bin")) > 0
    x = rng.standard_normal((2, 8)).astype(np.float32)
    got = compile_and_call(ctx, path, "ext", [x], [((2, 4), np.float32)])[0]
    assert close(got, ort_run(path, {"x": x})[0])


def check_odd_names(ctx):
    """Names with quotes, backslashes and comment markers still give valid C."""
    name_in, name_out = 'in "x" \\ */ /*', "out\n*/"
    nodes = [helper.make_node("Relu", [name_in], [name_out], name='relu "*/')]
    g = helper.make_graph(nodes, "odd", [helper.make_tensor_value_info(name_in, TensorProto.FLOAT, [3])],
                          [helper.make_tensor_value_info(name_out, TensorProto.FLOAT, [3])])
    m = ctx.save(make_model(g), "odd.onnx")
    x = np.array([-1, 0, 2], np.float32)
    got = compile_and_call(ctx, m, "odd", [x], [((3,), np.float32)])[0]
    assert np.array_equal(got, np.maximum(x, 0)), got
    lib = ctypes.CDLL(ctx.path("odd_cc.so"))
    info = ctypes.c_char_p.in_dll(lib, "odd_inputs")   # first field of the first entry
    assert info.value.decode() == name_in, info.value


def concat_model():
    """Two convs written straight into their slices of a channel Concat
    (cat1), then a Concat the planner must leave alone (cat2: along H, its
    input read twice)."""
    rng = np.random.default_rng(7)
    wa = (rng.standard_normal((6, 8, 3, 3)) * 0.2).astype(np.float32)
    wb = (rng.standard_normal((5, 8, 1, 1)) * 0.2).astype(np.float32)
    wc = (rng.standard_normal((4, 11, 1, 1)) * 0.2).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "wa"], ["a"], name="conva", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["ar"], name="relua"),
        helper.make_node("Conv", ["x", "wb"], ["b"], name="convb"),
        helper.make_node("Concat", ["ar", "b"], ["ab"], name="cat1", axis=1),
        helper.make_node("Conv", ["ab", "wc"], ["c"], name="convc"),
        helper.make_node("Concat", ["c", "c"], ["y"], name="cat2", axis=2),
    ]
    inits = [onnx.numpy_helper.from_array(a, n) for a, n in ((wa, "wa"), (wb, "wb"), (wc, "wc"))]
    g = helper.make_graph(nodes, "cat", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 10, 10])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 20, 10])], inits)
    return make_model(g)


def check_concat_in_place(ctx):
    m = ctx.save(concat_model(), "concat.onnx")
    out = ctx.path("concat.c")
    r = ctx.dlc_run(m, "-o", out, "--name", "cat")
    assert r.returncode == 0, r.stderr
    src = open(out).read()
    assert not re.search(r"/\* node \d+ 'cat1' \(Concat", src), "cat1 should copy nothing"
    assert re.search(r"/\* node \d+ 'cat2' \(Concat", src), "cat2 must still be computed"
    x = np.random.default_rng(8).standard_normal((1, 8, 10, 10)).astype(np.float32)
    got = run_generated(build_shared(ctx, out), "cat", [x], [(1, 4, 20, 10)])[0]
    exp = ort_run(m, {"x": x})[0]
    assert close(got, exp), f"max diff {np.abs(got - exp).max()}"


def compile_and_call(ctx, model_path, prefix, inputs, outputs):
    out = ctx.path(prefix + ".c")
    r = ctx.dlc_run(model_path, "-o", out, "--name", prefix)
    assert r.returncode == 0, r.stderr
    lib = build_shared(ctx, out)
    ins = (ctypes.c_void_p * len(inputs))(*[a.ctypes.data for a in inputs])
    res = [np.empty(shape, t) for shape, t in outputs]
    outs = (ctypes.c_void_p * len(res))(*[o.ctypes.data for o in res])
    assert getattr(lib, prefix + "_run")(ins, outs) == 0
    return res


CHECKS = [check_runtime_dim_options, check_usage, check_blas_option, check_compile_and_run, check_clang, check_deterministic, check_external_past_4gib, check_weights_file, check_weights_incbin,
          check_shapes, check_minus_one_dim, check_freeze, check_verbose, check_workspace_reentrant, check_threads_tsan, check_bench, check_bench_profile,
          check_profile_build, check_no_profile_code, check_tensor_storage_forms,
          check_odd_names, check_concat_in_place, *info_checks.CHECKS]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", default="build/dlc")
    ap.add_argument("--work", default=None)
    ap.add_argument("--only", nargs="*", default=None, help="run only these checks (names without check_)")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="dlc-cli-")
    os.makedirs(work, exist_ok=True)
    ctx = Ctx(os.path.abspath(a.dlc), work)
    for check in CHECKS:
        name = check.__name__[len("check_"):]
        if a.only is not None and name not in a.only:
            continue
        try:
            check(ctx)
            ctx.passed += 1
            print(f"ok {name}")
        except Exception as e:  # a failed check, whatever raised it
            ctx.failed += 1
            where = e.__traceback__.tb_next.tb_lineno if e.__traceback__.tb_next else "?"
            print(f"FAIL {name} (line {where}): {type(e).__name__}: {e}")
    print(f"{ctx.passed} passed, {ctx.failed} failed")
    return 1 if ctx.failed else 0


if __name__ == "__main__":
    sys.exit(main())
