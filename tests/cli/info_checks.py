"""Checks of `dlc info` (run by run.py): its figures against an independent
count in Python from the ONNX file (initializers, the graph's nodes, ONNX
shape inference, ONNX Runtime's tensor shapes), and against what the
compile command writes in the header (the workspace and weights sizes)."""
import collections
import json
import os
import re

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper, shape_inference

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = os.path.join(ROOT, "tests", "models", "shipped")

# What each model is bound to, and inputs of those shapes for ONNX Runtime.
CASES = {
    "crnn.onnx": (["--shape", "x=1x3x32x100"],
                  lambda rng: {"x": rng.standard_normal((1, 3, 32, 100)).astype(np.float32)}),
    "encoder.onnx": (["--shape", "ids=1x16", "--shape", "mask=1x16"],
                     lambda rng: {"ids": rng.integers(0, 10, (1, 16)).astype(np.int64),
                                  "mask": np.ones((1, 16), np.int64)}),
}


def info_json(ctx, *args, code=0):
    r = ctx.dlc_run("info", *args, "--json")
    assert r.returncode == code, f"dlc info {args}: exit {r.returncode}: {r.stderr[-600:]}"
    return json.loads(r.stdout), r


def params_by_dtype(model):
    """{dtype name: [elements, bytes]} over the graph's initializers."""
    out = collections.defaultdict(lambda: [0, 0])
    for t in model.graph.initializer:
        a = numpy_helper.to_array(t)
        out[str(a.dtype)][0] += a.size
        out[str(a.dtype)][1] += a.nbytes
    return dict(out)


def run_shapes(path, feeds):
    """Every tensor's shape in a run of ONNX Runtime on feeds (each node
    output made a graph output), the inputs' and initializers' too."""
    m = onnx.load(path)
    shapes = {t.name: list(t.dims) for t in m.graph.initializer}
    shapes.update({name: list(np.shape(v)) for name, v in feeds.items()})
    names = [o for n in m.graph.node for o in n.output if o]
    known = {o.name for o in m.graph.output}
    m.graph.output.extend([onnx.ValueInfoProto(name=n) for n in names if n not in known])
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    outs = s.run(None, feeds)
    shapes.update({o.name: list(np.shape(v)) for o, v in zip(s.get_outputs(), outs)})
    return shapes


def inferred_output_shapes(path, feeds):
    """ONNX shape inference's output shapes with the inputs bound to the
    feeds' shapes; None for a dim it leaves unresolved."""
    m = onnx.load(path)
    for i in m.graph.input:
        if i.name in feeds:
            for d, v in zip(i.type.tensor_type.shape.dim, feeds[i.name].shape):
                d.ClearField("dim_param")
                d.dim_value = v
    m = shape_inference.infer_shapes(m, data_prop=True)
    return {o.name: [d.dim_value if d.HasField("dim_value") else None for d in o.type.tensor_type.shape.dim]
            for o in m.graph.output}


def contraction_flops(model, shapes):
    """2 x multiply-adds of every Conv, MatMul and Gemm, by op type."""
    flops = collections.Counter()
    for n in model.graph.node:
        if n.op_type not in ("Conv", "MatMul", "Gemm"):
            continue
        y = int(np.prod(shapes[n.output[0]]))
        a, w = shapes[n.input[0]], shapes[n.input[1]]
        if n.op_type == "Conv":      # each output: (C/group) * KH * KW products
            k = int(np.prod(w[1:]))
        elif n.op_type == "MatMul":
            k = a[-1]
        else:
            trans_a = any(x.name == "transA" and x.i for x in n.attribute)
            k = a[0] if trans_a else a[1]
        flops[n.op_type] += 2 * y * k
    return flops


def header_size(ctx, model, args, key, *extra):
    """NAME_KEY from the header `dlc MODEL -o ...` writes."""
    out = ctx.path("info_hdr.c")
    r = ctx.dlc_run(model, "-o", out, "--name", "m", *args, *extra)
    assert r.returncode == 0, r.stderr
    return int(re.search(rf"M_{key} (\d+)u", open(ctx.path("info_hdr.h")).read()).group(1))


def check_info_models(ctx):
    for name, (args, make_feeds) in CASES.items():
        path = os.path.join(SHIPPED, name)
        d, _ = info_json(ctx, path, *args)
        assert d["compiled"] and not d["errors"], d["errors"]
        model = onnx.load(path)
        # parameters: the initializers, by dtype
        want = params_by_dtype(model)
        got = {p["dtype"]: [p["count"], p["bytes"]] for p in d["parameters"]["by_dtype"]}
        assert got == want, (name, got, want)
        assert d["parameters"]["count"] == sum(v[0] for v in want.values())
        assert d["parameters"]["bytes"] == sum(v[1] for v in want.values())
        # op histogram: the graph's nodes
        hist = {o["op"]: o["nodes"] for o in d["ops"] if o["nodes"]}
        assert hist == dict(collections.Counter(n.op_type for n in model.graph.node)), name
        assert d["nodes"] == len(model.graph.node)
        # shapes after binding: ONNX Runtime's, and ONNX shape inference's where it resolves them
        feeds = make_feeds(np.random.default_rng(0))
        shapes = run_shapes(path, feeds)
        inferred = inferred_output_shapes(path, feeds)
        for i in d["inputs"]:
            assert i["shape"] == list(feeds[i["name"]].shape) == i["max_shape"], (name, i)
        for o in d["outputs"]:
            assert o["shape"] == shapes[o["name"]], (name, o, shapes[o["name"]])
            assert all(a == b for a, b in zip(o["shape"], inferred[o["name"]]) if b), (o, inferred)
        # FLOPs of the products, from their shapes; the totals add up
        by_op = {o["op"]: o["flops"] for o in d["ops"]}
        for op, want_flops in contraction_flops(model, shapes).items():
            # a bias or epilogue the kernel applies may add up to one op per output
            assert want_flops <= by_op[op] <= 1.02 * want_flops, (name, op, by_op[op], want_flops)
        assert abs(sum(by_op.values()) - d["flops"]["total"]) <= 1e-9 * d["flops"]["total"]
        assert 0 < d["flops"]["compiled"] <= 1.01 * d["flops"]["total"], d["flops"]
        # the arena and weights: what the compiled header declares
        assert d["arena_bytes"] == header_size(ctx, path, args, "WORKSPACE_SIZE"), name
        assert d["weights_bytes"] == header_size(ctx, path, args, "WEIGHTS_SIZE", "--weights", "file"), name
        # the text report says the same
        r = ctx.dlc_run("info", path, *args)
        assert r.returncode == 0, r.stderr
        assert f"parameters: {d['parameters']['count']} " in r.stdout, r.stdout
        assert f"arena (workspace): {d['arena_bytes']} bytes" in r.stdout, r.stdout
        assert f"FLOPs per run: {d['flops']['total']:.0f} " in r.stdout, r.stdout


def check_info_runtime_dims(ctx):
    """A range stays a named dim; the largest shapes are ONNX Runtime's at its top."""
    path = os.path.join(SHIPPED, "crnn.onnx")
    d, _ = info_json(ctx, path, "--shape", "x=1x3x32x32..512")
    assert d["dims"] == [{"name": "width", "min": 32, "max": 512, "step": 1}], d["dims"]
    x = d["inputs"][0]
    assert x["shape"] == [1, 3, 32, "width"] and x["max_shape"] == [1, 3, 32, 512], x
    top = run_shapes(path, {"x": np.zeros((1, 3, 32, 512), np.float32)})
    y = d["outputs"][0]
    assert y["max_shape"] == top[y["name"]], (y, top[y["name"]])
    assert isinstance(y["shape"][0], str) and "width" in y["shape"][0], y
    r = ctx.dlc_run("info", path, "--shape", "x=1x3x32x32..512")
    assert "'width': 32..512" in r.stdout and "at most [1,3,32,512]" in r.stdout, r.stdout


def check_info_freeze(ctx):
    """A frozen input leaves the inputs for the frozen list; a --freeze file
    that cannot be read is an error that names it."""
    path = os.path.join(SHIPPED, "vad.onnx")
    sr = ctx.path("info_sr.pb")
    with open(sr, "wb") as f:
        f.write(numpy_helper.from_array(np.array(16000, np.int64)).SerializeToString())
    d, _ = info_json(ctx, path, "--freeze", f"sr={sr}")
    assert [i["name"] for i in d["frozen"]] == ["sr"] and "sr" not in [i["name"] for i in d["inputs"]], d
    assert d["frozen"][0]["dtype"] == "int64" and d["frozen"][0]["shape"] == [], d["frozen"]
    missing = ctx.path("info_missing.pb")
    d, _ = info_json(ctx, path, "--freeze", f"sr={missing}", code=1)
    assert [e["file"] for e in d["errors"]] == [missing], d["errors"]


def check_info_failing(ctx):
    """A model that does not compile: exit 1, the compiler's messages, and
    what is known before the failure."""
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
             helper.make_node("FooBarOp", ["h"], ["y"], name="mystery \"node\"")]
    g = helper.make_graph(nodes, "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [w])
    m = ctx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "info_bad.onnx")
    d, r = info_json(ctx, m, code=1)
    assert not d["compiled"] and d["arena_bytes"] is None and d["flops"] is None, d
    assert [(e["node_index"], e["node"], e["op"]) for e in d["errors"]] == [(1, 'mystery "node"', "FooBarOp")]
    assert "FooBarOp" in d["errors"][0]["message"]
    assert d["inputs"][0]["shape"] == [2, 4] and d["parameters"]["count"] == 16, d
    assert {o["op"]: o["nodes"] for o in d["ops"]} == {"MatMul": 1, "FooBarOp": 1}
    # the messages are the compiler's, on stderr
    c = ctx.dlc_run(m, "-o", ctx.path("info_bad.c"))
    assert c.returncode == 1 and c.stderr == r.stderr, (c.stderr, r.stderr)
    t = ctx.dlc_run("info", m)
    assert t.returncode == 1 and "node 1 'mystery \"node\"' (FooBarOp)" in t.stdout, t.stdout
    # unbound symbolic dims, a file that is no model, bad usage
    d, _ = info_json(ctx, os.path.join(SHIPPED, "encoder.onnx"), code=1)
    assert d["inputs"][0]["shape"] == [1, "tokens"] and d["parameters"]["count"] > 0, d["inputs"]
    assert any("--shape" in e["message"] for e in d["errors"]), d["errors"]
    junk = ctx.path("info_junk.onnx")
    with open(junk, "wb") as f:
        f.write(b"\x08\x07\x12\xff\xff not a model")
    d, _ = info_json(ctx, junk, code=1)
    assert not d["loaded"] and d["errors"], d
    for args in (["info"], ["info", m, "--bogus"], ["info", m, "--shape", "x=2y"]):
        assert ctx.dlc_run(*args).returncode == 2, args


def check_info_odd_names(ctx):
    """Names with quotes, backslashes, control characters and non-ASCII
    come back intact from the JSON."""
    name_in, name_out = 'in "x" \\ \t é', "out\n\x01"
    nodes = [helper.make_node("Relu", [name_in], [name_out], name="r")]
    g = helper.make_graph(nodes, "odd", [helper.make_tensor_value_info(name_in, TensorProto.FLOAT, [3])],
                          [helper.make_tensor_value_info(name_out, TensorProto.FLOAT, [3])])
    m = ctx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "info_odd.onnx")
    d, _ = info_json(ctx, m)
    assert d["inputs"][0]["name"] == name_in and d["outputs"][0]["name"] == name_out, d


CHECKS = [check_info_models, check_info_runtime_dims, check_info_freeze, check_info_failing, check_info_odd_names]
