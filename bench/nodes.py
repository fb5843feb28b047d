"""Where dlc loses time to ONNX Runtime, node by node.

usage: .venv/bin/python bench/nodes.py MODEL.onnx [--dlc build/dlc] [--threads 1]
           [--shape NAME=DxD ...] [--inputs DIR] [--runs 20] [--warmup 5]
           [--top 20] [--seed 0] [--peak-gflops X] [--json OUT] [--work DIR]

Both engines run the same inputs (seeded: floats uniform in [-1, 1),
integers and bools 0 or 1, as `dlc bench` draws them; or DIR/input_N.pb
with --inputs), on --threads threads, --warmup untimed runs then --runs
timed ones:
  - dlc: `dlc bench MODEL --profile --json --top 0 --inputs WORK/inputs`
    gives every kernel's time per run (summed over the runs / runs), the
    ONNX node names it covers ("a+b" when fused), FLOPs, % of the fp32
    peak and the bytes it moves at least (GB/s: the figure to read for
    memory-bound kernels);
  - ONNX Runtime: a session with ORT_ENABLE_ALL, intra_op_num_threads=T,
    inter_op_num_threads=1, sequential, SessionOptions.enable_profiling and
    optimized_model_filepath (the graph it runs, saved). Its profile's
    "Node" events named NODE_kernel_time that fall inside the timed runs'
    model_run events are summed per node and divided by --runs.

Both are then mapped onto the nodes of the original model:
  - dlc: a kernel covers the nodes its name lists: the "a+b+c" string is
    split where each piece is a node name of the model (names that
    themselves contain "+" stay whole); a piece that is no node name but
    starts with one followed by "/" or "@" (the nodes dlc's control-flow
    expansion makes) belongs to that node.
  - ORT: a node of the optimized graph covers, first, the original nodes
    it is named after or whose output tensors it writes (a fusion keeps
    the last node's output name; NCHWc convolutions are named after the
    original output tensor plus "_nchwc"); then every original node above
    those whose outputs the optimized graph no longer has, up to a tensor
    it still has or a node another ORT node covers (that is what a fusion
    or constant folding swallowed). An ORT node covering nothing by these
    rules (a ReorderInput, say) counts with the nearest covered node in the
    optimized graph that it reaches through tensors ORT made up
    (a ReorderOutput counts with the NCHWc convolution before it), else
    the first below it, else the first above it.
  - groups: original nodes that one dlc kernel or one ORT node covers
    together are one group (the connected components of "covered by the
    same kernel or node"), so that a fusion on either side never splits
    time between groups; a group's time on each side is the sum of its
    kernels or nodes. Groups are as fine as both engines' fusions allow:
    an attention block ORT fuses whole is one group even where dlc runs it
    as several kernels.
Timings are of profile builds on both sides (dlc reads the clock after
each kernel, ORT records each node), so the totals run a little above the
plain latency; the table is sorted by the loss, dlc ms - ORT ms, largest
first, --top rows, then the totals. Columns: dlc and ORT ms per run, the
loss, their ratio, and for dlc's kernels in the group GFLOP/s, % of the
peak (times the threads) and GB/s (bytes moved at least / time).

--json OUT writes the options, the totals, every group (its nodes, ops,
dlc kernels and ORT nodes with their times) and the raw dlc profile.
Exit status: 0 done, 1 dlc or ORT failed on the model, 2 bad usage.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# ONNX TensorProto element type -> numpy dtype
NP_TYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
            7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32,
            13: np.uint64}


def fail(msg, code=1):
    print(f"nodes.py: error: {msg}", file=sys.stderr)
    sys.exit(code)


# --------------------------------------------------------------------------
# the model and its inputs

def named_copy(path, work):
    """The model with every top-level node named uniquely: the file itself
    when it is so already, else a copy in work where an unnamed node is
    "node N" (N its index, as dlc calls it) and a repeated name gets "#k"."""
    model = onnx.load(path, load_external_data=False)
    seen, renamed = set(), False
    for i, n in enumerate(model.graph.node):
        name = n.name or f"node {i}"
        k = 1
        while name in seen:
            k += 1
            name = f"{n.name}#{k}"
        if name != n.name:
            n.name, renamed = name, True
        seen.add(name)
    if not renamed:
        return path
    names = [n.name for n in model.graph.node]
    model = onnx.load(path)     # with its weights, wherever they are
    for n, name in zip(model.graph.node, names):
        n.name = name
    out = os.path.join(work, "named.onnx")
    # past protobuf's 2 GB the weights go beside it
    onnx.save(model, out, save_as_external_data=model.ByteSize() > (1 << 31) - (1 << 26),
              location="named.onnx.data")
    return out


def parse_shapes(specs):
    """--shape NAME=2x3 ... -> {NAME: [2, 3]}."""
    out = {}
    for s in specs:
        name, _, dims = s.partition("=")
        try:
            out[name] = [int(d) for d in dims.split("x")]
        except ValueError:
            fail(f"bad --shape '{s}' (expected NAME=DxDxD)", 2)
    return out


def make_inputs(model, shapes, seed, inputs_dir):
    """[(name, array)] for the graph inputs that are not initializers."""
    inits = {t.name for t in model.graph.initializer}
    feeds = []
    rng = np.random.default_rng(seed)
    real = [i for i in model.graph.input if i.name not in inits]
    for pos, vi in enumerate(real):
        t = vi.type.tensor_type
        if inputs_dir:
            path = os.path.join(inputs_dir, f"input_{pos}.pb")
            if not os.path.exists(path):
                fail(f"--inputs: no {path} for input '{vi.name}'", 2)
            feeds.append((vi.name, numpy_helper.to_array(onnx.load_tensor(path))))
            continue
        if t.elem_type not in NP_TYPES:
            fail(f"input '{vi.name}': element type {t.elem_type} not handled")
        if vi.name in shapes:
            shape = shapes[vi.name]
        else:
            shape = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
            if None in shape:
                fail(f"input '{vi.name}' has a symbolic dim: bind it with --shape "
                     f"{vi.name}=" + "x".join(str(d or "N") for d in shape), 2)
        dtype = NP_TYPES[t.elem_type]
        if np.issubdtype(dtype, np.floating):
            a = rng.uniform(-1, 1, shape).astype(dtype)
        else:   # 0 or 1: valid as indices, masks and token types
            a = rng.integers(0, 2, shape).astype(dtype)
        feeds.append((vi.name, a))
    return feeds


# --------------------------------------------------------------------------
# the two profiles

def dlc_profile(args, model_path, inputs_dir):
    cmd = [args.dlc, "bench", model_path, "--profile", "--json", "--top", "0",
           "--threads", str(args.threads), "--runs", str(args.runs),
           "--warmup", str(args.warmup), "--inputs", inputs_dir]
    for s in args.shape:
        cmd += ["--shape", s]
    if args.peak_gflops:
        cmd += ["--peak-gflops", str(args.peak_gflops)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"dlc bench exit {p.returncode}: {p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout)


def ort_profile(args, model_path, feeds, work):
    """(per-node ms per run {optimized node name: ms}, mean model_run ms,
    the optimized graph, ORT's version)."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.enable_profiling = True
    so.profile_file_prefix = os.path.join(work, "ort_profile")
    opt_path = os.path.join(work, "ort_optimized.onnx")
    so.optimized_model_filepath = opt_path
    # weights beside it, so that the saved graph stays small whatever the model
    so.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                "ort_optimized.data")
    so.add_session_config_entry(
        "session.optimized_model_external_initializers_min_size_in_bytes", "1024")
    so.log_severity_level = 3   # not the warning that the saved graph is host-specific
    feed = dict(feeds)
    try:
        sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
        for _ in range(args.warmup + args.runs):
            sess.run(None, feed)
    except Exception as e:  # onnxruntime's own exception types
        fail(f"ONNX Runtime: {type(e).__name__}: {str(e).strip()[:2000]}")
    with open(sess.end_profiling()) as f:
        events = json.load(f)
    runs = sorted((e for e in events if e.get("cat") == "Session" and e["name"] == "model_run"),
                  key=lambda e: e["ts"])[-args.runs:]
    windows = [(e["ts"], e["ts"] + e["dur"]) for e in runs]
    per_node = collections.defaultdict(list)   # name -> [us] in execution order
    for e in sorted(events, key=lambda e: e["ts"]):
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        if not any(a <= e["ts"] <= b for a, b in windows):
            continue
        per_node[e["name"][:-len("_kernel_time")]].append(e["dur"])
    opt = onnx.load(opt_path, load_external_data=False)
    run_ms = sum(e["dur"] for e in runs) / 1e3 / max(len(runs), 1)
    return per_node, run_ms, opt, ort.__version__


# --------------------------------------------------------------------------
# mapping both onto the original nodes

def split_names(text, names):
    """Splits dlc's "a+b+c" into original node indices; pieces that match
    nothing come back in the second list."""
    parts = text.split("+")
    n = len(parts)
    best = [None] * (n + 1)     # best[i]: a split of parts[:i], fewest unknown pieces
    best[0] = (0, [])
    for j in range(1, n + 1):
        for i in range(j):
            if best[i] is None:
                continue
            piece = "+".join(parts[i:j])
            node = lookup(piece, names)
            cost = best[i][0] + (node is None)
            if best[j] is None or cost < best[j][0]:
                best[j] = (cost, best[i][1] + [(piece, node)])
    pieces = best[n][1]
    return [nd for _, nd in pieces if nd is not None], [p for p, nd in pieces if nd is None]


def lookup(piece, names):
    if piece in names:
        return names[piece]
    for sep in ("/", "@"):      # control-flow expansion: "NODE/...", "NODE@batchK"
        at = piece.find(sep)
        while at > 0:
            if piece[:at] in names:
                return names[piece[:at]]
            at = piece.find(sep, at + 1)
    return None


class Groups:
    """Union-find over original node indices."""

    def __init__(self, n):
        self.parent = list(range(n))

    def find(self, i):
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, nodes):
        nodes = list(nodes)
        for b in nodes[1:]:
            ra, rb = self.find(nodes[0]), self.find(b)
            if ra != rb:
                self.parent[max(ra, rb)] = min(ra, rb)


def ort_cover(graph, opt):
    """{optimized node position: set of original node indices} by the rules
    of the module docstring, and {position: position it counts with} for
    the nodes that cover nothing themselves."""
    gnodes = list(graph.node)
    producer = {o: i for i, n in enumerate(gnodes) for o in n.output if o}
    by_name = {n.name: i for i, n in enumerate(gnodes)}
    onodes = list(opt.graph.node)
    kept = {t for n in onodes for t in list(n.input) + list(n.output)}
    kept |= {i.name for i in opt.graph.input} | {t.name for t in opt.graph.initializer}

    cover = {}
    owner = {}              # original index -> optimized position
    for j, n in enumerate(onodes):
        own = set()
        if n.name in by_name:
            own.add(by_name[n.name])
        own |= {producer[o] for o in n.output if o in producer}
        if not own and n.name.endswith("_nchwc") and n.name[:-6] in producer:
            own.add(producer[n.name[:-6]])
        own = {i for i in own if i not in owner}
        for i in own:
            owner[i] = j
        cover[j] = own
    # what each one swallowed: up from its own nodes through vanished tensors
    for j, n in enumerate(onodes):
        stack = list(cover[j])
        while stack:
            for t in gnodes[stack.pop()].input:
                if not t or t in kept or t not in producer:
                    continue
                p = producer[t]
                if p in owner:
                    continue
                owner[p] = j
                cover[j].add(p)
                stack.append(p)
    # nodes of ORT's own (layout changes): with the node at the other end
    # of a tensor ORT made up, else the nearest covered one below, else above
    consumers = collections.defaultdict(list)
    producers = {}
    for j, n in enumerate(onodes):
        for t in n.input:
            consumers[t].append(j)
        for t in n.output:
            producers[t] = j

    def below(k, made_up_only):
        return [c for t in onodes[k].output if not (made_up_only and t in producer)
                for c in consumers[t]]

    def above(k, made_up_only):
        return [producers[t] for t in onodes[k].input
                if t in producers and not (made_up_only and t in producer)]

    def nearest(j, steps):
        seen, frontier = {j}, [j]
        while frontier:
            nxt = []
            for k in frontier:
                for m in steps(k):
                    if m not in seen:
                        if cover[m]:
                            return m
                        seen.add(m)
                        nxt.append(m)
            frontier = nxt
        return None

    attach = {}
    for j in range(len(onodes)):
        if cover[j]:
            continue
        for steps in (lambda k: below(k, True) + above(k, True),
                      lambda k: below(k, False), lambda k: above(k, False)):
            found = nearest(j, steps)
            if found is not None:
                attach[j] = found
                break
    return cover, attach


def ort_events_to_nodes(per_node, opt):
    """[(optimized position, ms summed over the runs)]; an event whose name
    several nodes share goes to them in turn, in graph order."""
    positions = collections.defaultdict(list)
    for j, n in enumerate(opt.graph.node):
        positions[n.name].append(j)
    out, unknown = [], []
    for name, durs in per_node.items():
        pos = positions.get(name)
        if not pos:
            unknown.append((name, sum(durs) / 1e3))
            continue
        for k, d in enumerate(durs):
            out.append((pos[k % len(pos)], d / 1e3))
    return out, unknown


def build_groups(graph, opt, dlc, ort_nodes, cover, attach, runs):
    gnodes = list(graph.node)
    onodes = list(opt.graph.node)
    names = {n.name: i for i, n in enumerate(gnodes)}
    uf = Groups(len(gnodes) + 1)
    loose = len(gnodes)         # the group of whatever maps to no original node
    kernels = []
    for k in dlc["profile"]["kernels"]:
        nodes, unknown = split_names(k["names"], names)
        if not nodes:
            nodes = [loose]
        uf.union(nodes)
        kernels.append((k, nodes, unknown))
    for j, own in cover.items():
        if own:
            uf.union(own)

    groups = {}

    def group(i):
        r = uf.find(i)
        if r not in groups:
            groups[r] = {"nodes": set(), "dlc_ms": 0.0, "ort_ms": 0.0, "flops": 0.0,
                         "bytes": 0.0, "kernels": [], "ort_nodes": collections.Counter()}
        return groups[r]

    for k, nodes, unknown in kernels:
        g = group(nodes[0])
        g["nodes"].update(nodes)
        g["dlc_ms"] += k["ms"]
        g["flops"] += k["flops"]
        g["bytes"] += k.get("bytes") or 0.0
        g["kernels"].append({"index": k["index"], "names": k["names"], "ops": k["ops"],
                             "ms": k["ms"], "unmatched": unknown})
    for j, ms in ort_nodes:
        at = attach.get(j, j)
        own = cover.get(at)
        g = group(min(own) if own else loose)
        g["nodes"].update(own or [loose])
        g["ort_ms"] += ms / runs
        g["ort_nodes"][f"{onodes[j].name} ({onodes[j].op_type})"] += ms / runs
    # every original node covered on either side, for the record
    for own in cover.values():
        for i in own:
            group(i)["nodes"].add(i)
    return list(groups.values()), loose


def describe(g, gnodes, loose):
    """A short label: the last original node's name and the op types."""
    # Constant nodes (weights written as nodes) cost nothing on either side
    real = sorted(i for i in g["nodes"] if i != loose and gnodes[i].op_type != "Constant")
    if not real:
        return "(no original node)", ""
    ops = collections.Counter(gnodes[i].op_type for i in real)
    op_text = "+".join(f"{op}x{c}" if c > 1 else op for op, c in ops.most_common(4))
    if len(ops) > 4:
        op_text += "+..."
    name = gnodes[real[-1]].name
    if len(real) > 1:
        name += f" (+{len(real) - 1})"
    return name, op_text


def shorten(s, width):
    return s if len(s) <= width else "..." + s[-(width - 3):]


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--dlc", default=None, help="the dlc binary (default build/dlc)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--shape", action="append", default=[], metavar="NAME=DxD",
                    help="bind an input's symbolic dims (repeatable), as dlc does")
    ap.add_argument("--inputs", metavar="DIR", help="DIR/input_N.pb instead of seeded inputs")
    ap.add_argument("--runs", type=int, default=20, help="timed runs (default 20)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed runs first (default 5)")
    ap.add_argument("--top", type=int, default=20, help="groups to print (default 20, 0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--peak-gflops", type=float, help="per-core peak (default: dlc measures it)")
    ap.add_argument("--json", help="write every group and both profiles here")
    ap.add_argument("--work", help="keep the inputs and ORT's profile here (default: a temp dir)")
    ap.add_argument("--width", type=int, default=64, help="name column width (default 64)")
    args = ap.parse_args()
    if args.runs < 1 or args.warmup < 0 or args.threads < 1 or args.top < 0:
        fail("--runs and --threads must be >= 1, --warmup and --top >= 0", 2)
    if not os.path.exists(args.model):
        fail(f"no such model: {args.model}", 2)
    args.dlc = os.path.abspath(args.dlc or os.path.join(ROOT, "build", "dlc"))
    if not os.access(args.dlc, os.X_OK):
        fail(f"{args.dlc} is not an executable (build dlc or pass --dlc)", 2)
    work = args.work or tempfile.mkdtemp(prefix="dlc-nodes-")
    os.makedirs(work, exist_ok=True)

    model_path = named_copy(args.model, work)
    model = onnx.load(model_path, load_external_data=False)
    feeds = make_inputs(model, parse_shapes(args.shape), args.seed, args.inputs)
    inputs_dir = os.path.join(work, "inputs")
    os.makedirs(inputs_dir, exist_ok=True)
    for pos, (name, a) in enumerate(feeds):
        onnx.save_tensor(numpy_helper.from_array(a, name),
                         os.path.join(inputs_dir, f"input_{pos}.pb"))

    dlc = dlc_profile(args, model_path, inputs_dir)
    per_node, ort_run_ms, opt, ort_version = ort_profile(args, model_path, feeds, work)
    cover, attach = ort_cover(model.graph, opt)
    ort_nodes, ort_unknown = ort_events_to_nodes(per_node, opt)
    groups, loose = build_groups(model.graph, opt, dlc, ort_nodes, cover, attach, args.runs)
    for name, ms in ort_unknown:    # profile names the saved graph lacks (should not happen)
        groups.append({"nodes": {loose}, "dlc_ms": 0.0, "ort_ms": ms / args.runs, "flops": 0.0,
                       "bytes": 0.0, "kernels": [], "ort_nodes": {name: ms / args.runs}})

    gnodes = list(model.graph.node)
    peak = dlc["profile"].get("peak_gflops_per_core")
    rows = []
    for g in groups:
        name, ops = describe(g, gnodes, loose)
        row = {"name": name, "ops": ops, "dlc_ms": g["dlc_ms"], "ort_ms": g["ort_ms"],
               "loss_ms": g["dlc_ms"] - g["ort_ms"],
               "ratio": g["dlc_ms"] / g["ort_ms"] if g["ort_ms"] > 0 else None,
               "flops": g["flops"], "bytes": g["bytes"],
               "gflops": g["flops"] / g["dlc_ms"] / 1e6 if g["flops"] and g["dlc_ms"] > 0 else None,
               "gbps": g["bytes"] / g["dlc_ms"] / 1e6 if g["bytes"] and g["dlc_ms"] > 0 else None,
               "nodes": [gnodes[i].name for i in sorted(g["nodes"]) if i != loose],
               "dlc_kernels": g["kernels"],
               "ort_nodes": [{"name": k, "ms": v} for k, v in g["ort_nodes"].items()]}
        row["peak_pct"] = (100 * row["gflops"] / (peak * args.threads)
                           if row["gflops"] is not None and peak else None)
        rows.append(row)
    rows.sort(key=lambda r: -r["loss_ms"])

    dlc_total = sum(r["dlc_ms"] for r in rows)
    ort_total = sum(r["ort_ms"] for r in rows)
    top = rows if args.top == 0 else rows[:args.top]
    plural = "s" if args.threads > 1 else ""
    print(f"{os.path.basename(args.model)}: {args.threads} thread{plural}, "
          f"{args.runs} runs after {args.warmup} warm-up; {args.dlc} "
          f"--profile against the ONNX Runtime {ort_version} profiler; ms per run")
    print(f"{len(rows)} groups of original nodes; {len(top)} where dlc loses most:")
    w = args.width
    print(f"{'dlc ms':>9} {'ORT ms':>9} {'loss ms':>9} {'dlc/ORT':>7} {'GFLOP/s':>8} "
          f"{'%peak':>6} {'GB/s':>7}  {'group (last node, +others)':{w}s}  ops")
    for r in top:
        def num(x, fmt):
            return "-" if x is None else format(x, fmt)
        print(f"{r['dlc_ms']:9.4f} {r['ort_ms']:9.4f} {r['loss_ms']:+9.4f} "
              f"{num(r['ratio'], '7.2f'):>7} {num(r['gflops'], '8.2f'):>8} "
              f"{num(r['peak_pct'], '6.1f'):>6} {num(r['gbps'], '7.2f'):>7}  "
              f"{shorten(r['name'], w):{w}s}  {r['ops']}")
    lost = sum(r["loss_ms"] for r in rows if r["loss_ms"] > 0)
    won = -sum(r["loss_ms"] for r in rows if r["loss_ms"] < 0)
    print(f"total: dlc {dlc_total:.3f} ms in kernels (median latency {dlc['median_ms']:.3f}), "
          f"ORT {ort_total:.3f} ms in nodes (mean run {ort_run_ms:.3f}); dlc loses "
          f"{lost:.3f} ms in {sum(r['loss_ms'] > 0 for r in rows)} groups and gains "
          f"{won:.3f} in {sum(r['loss_ms'] < 0 for r in rows)}")

    if args.json:
        out = {"model": os.path.abspath(args.model), "threads": args.threads,
               "runs": args.runs, "warmup": args.warmup, "seed": args.seed,
               "shape": args.shape, "onnxruntime": ort_version, "dlc": args.dlc,
               "peak_gflops_per_core": peak,
               "totals": {"dlc_kernel_ms": dlc_total, "dlc_median_ms": dlc["median_ms"],
                          "ort_node_ms": ort_total, "ort_run_ms": ort_run_ms,
                          "loss_ms": lost, "gain_ms": won},
               "groups": rows, "dlc_profile": dlc}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
