"""dlc against ONNX Runtime and OpenVINO on full-size networks, side by side.

usage: .venv/bin/python bench/run.py [--dlc build/dlc] [--baseline-dlc PATH]
           [--models resnet50,mobilenetv2,squeezenet1_1,bert_base,yolov8n,...]
           [--threads 1,2] [--runs 20] [--warmup 5] [--seed 0] [--gap-ms MS]
           [--peak-gflops X] [--json out.json] [--plot out.png] [--no-openvino]
           [--work build/bench] [--cc cc] [--cflags "-O3 -march=native"]

A benchmark, not a test: it exits 0 however slow dlc is, 1 when a model
failed to generate, compile, build or run, or when dlc's outputs do not
match ONNX Runtime's (such a model is not timed and reads FAIL), 2 on bad
usage.

OpenVINO (PyPI `openvino`, not in requirements.txt) is the third engine
when the Python running this script can import it and --no-openvino is
not given; otherwise run.py says so once and compares dlc with ONNX
Runtime alone, as before. Its CPU plugin compiles the ONNX file with
bench/compare.py's openvino_config: INFERENCE_PRECISION_HINT f32 (it
would pick bf16 where the CPU has it), PERFORMANCE_HINT LATENCY,
NUM_STREAMS 1 and INFERENCE_NUM_THREADS T, the settings it reports back
being kept in the JSON ("ov_settings"). A model OpenVINO cannot compile,
or whose outputs it computes outside the tolerances below, is timed
without it (its row reads n/a, the reason is printed and kept as
"ov_error"); that is no failure of dlc's and does not change the exit
status.

What it does, per model:
  1. writes WORK/NAME.onnx with bench/models/make.py unless it is there;
  2. counts the model's FLOPs from the graph (2 x the multiply-adds of every
     Conv, Gemm and MatMul, shapes from ONNX shape inference);
  3. compiles it: `dlc WORK/NAME.onnx -o WORK/NAME.c --name NAME`, then
     `cc -O3 -march=native -fPIC -shared -fopenmp WORK/NAME.c -lm` into
     WORK/libNAME.so (skipped when the generated source, the compiler and
     its flags are those of the library already there);
  4. for each thread count T, starts a fresh worker process of this script
     (`run.py --worker ...`) with OMP_NUM_THREADS=T, so that the OpenMP
     runtime sees T before the library loads and each measurement has a
     process of its own. The worker:
       - builds the model's seeded example inputs (bench/models/NAME.py
         example(), rng numpy.random.default_rng([seed, 1]));
       - loads the library with ctypes, reads NAME_inputs / NAME_outputs
         (names, dtypes, shapes, bytes) from it and NAME_WORKSPACE_SIZE from
         NAME.h, and runs NAME_run_with_workspace once on a 64-byte aligned
         workspace of that size;
       - creates the ONNX Runtime session (CPUExecutionProvider,
         ORT_ENABLE_ALL, intra_op_num_threads=T, inter_op_num_threads=1)
         and runs it once with the plain `run` API: the reference outputs;
       - with OpenVINO, compiles the model for its CPU plugin (also with the
         process's whole CPU mask), binds the example arrays as its input
         tensors once (shared memory, not copied) and runs it once;
       - compares: a float element matches when
         |dlc - ort| <= atol + rtol * |ort| (1e-3 and 1e-3; NaN matches NaN),
         integers exactly; a mismatch of dlc's stops the worker (status
         FAIL), one of OpenVINO's leaves it out (above);
       - times the engines alternately in the same process: --warmup
         rounds, then --runs rounds, each calling every engine once (dlc,
         ORT, OpenVINO, the baseline dlc below), the rounds taking in turn
         the orders of a balanced (Williams) design, so that each engine
         comes first, and right after each other one, equally often: for
         two engines dlc first and ORT first, for three their six orders.
         Each call is timed alone with time.perf_counter_ns(): around the
         ctypes call for dlc, around sess.run_with_iobinding() for ORT,
         whose inputs and outputs are bound once, before timing, to
         preallocated numpy arrays, and around InferRequest.infer(
         share_outputs=True) for OpenVINO, whose inputs are bound once and
         whose outputs stay in its own tensors (so no engine allocates or
         copies inputs or outputs in the timed region).
         At 2 or more threads each call is preceded by an untimed idle
         gap (--gap-ms, default 50 ms; 0 at 1 thread) so that the other
         engine's threads have stopped spinning when it starts.
         The garbage collector is off while timing; the outputs are checked
         again after the last round.
  5. reports medians (never means: the machine is shared), min and p90
     (numpy's linear interpolation), the ratios of medians dlc/ORT,
     dlc/OV and dlc/best, best being the faster peer of the row (ORT or
     OpenVINO; ORT when it is the only one), lower is better, and the
     share of the fp32 peak each engine reaches:
     FLOPs / median / (peak GFLOP/s per core x T), the peak that
     `dlc bench --profile` measures on this machine unless --peak-gflops
     gives one ("ratio", "dlc_ov_ratio", "best_peer", "dlc_best_ratio",
     "ov", "ov_ns", "ov_pct_peak" in the JSON);
  6. ends with the geometric mean of dlc/best (and of dlc/ORT, dlc/OV)
     over the models that ran, per thread count, with the worst dlc/best
     ("summary" in the JSON).

Against another dlc (--baseline-dlc PATH, say the previous main's build):
step 3 runs again with that binary into WORK/NAME.base.c and
WORK/libNAME.base.so (same flags, same caching rule), and the worker loads
that library too, right after dlc's (the same symbol names: ctypes opens
each RTLD_LOCAL and looks them up in its own handle), checks its outputs
against ONNX Runtime in the same way (a mismatch in either build reads
FAIL) and times it as a third engine in the same rounds, with the same
idle gap. The report adds its median (min / p90), its ratio to ORT and
dlc / baseline ("base", "base_ratio", "dlc_base_ratio", "base_ns",
"base_check" in the JSON; a line at the baseline's latency on dlc's bar of
the plot). Its peak RSS ("base_peak_rss_bytes") is taken after dlc's, so
what the two share (the OpenMP runtime's threads) counts in dlc's only.

Memory. dlc's needs are known before it runs: the arena (NAME_WORKSPACE_SIZE
from the header) plus the weights (the "Weights: N bytes" line of NAME.c).
ONNX Runtime's peak is measured in the worker, from /proc/self/status:
the peak resident set size (VmHWM) is reset by writing 5 to
/proc/self/clear_refs, VmRSS is read, then the session is created and run
once with `run` and once with the IO binding; ORT's figure is VmHWM after
that minus VmRSS before, i.e. everything session creation and running cost
(weights included) at its highest point. OpenVINO's ("ov_peak_rss_bytes")
is the same around compiling the model and its first run, and dlc's
measured figure too, taken earlier in the same process around loading the
library and its first run (weight pages touched, code, and the workspace,
which is mmap'd afresh so that no already-resident heap block hides it). Where clear_refs cannot
be written the worker falls back on the growth of
getrusage(RUSAGE_SELF).ru_maxrss, a lower bound, and says so
("rss_method" in the JSON). Memory the Python heap had already freed and
kept resident before a phase may be reused by it unseen, so both figures
are growth, not totals of the process.

Threads: dlc's runtime threads with OpenMP (`-fopenmp`). All engines keep
their default waiting policies (libgomp, ORT and OpenVINO's TBB spin
briefly after a parallel region, then sleep); at 2 or more threads the
idle gap lets each one's spinning end before the next runs, dlc's OpenMP threads
are bound one per CPU (OMP_PROC_BIND=true unless set; an unbound worker
woken after the gap often landed on the main thread's CPU), and ONNX
Runtime's pool and OpenVINO's threads are created with the process's
whole CPU mask, so they are not confined to the CPU OpenMP bound the main
thread to (OpenVINO binds its own threads to CPUs, ENABLE_CPU_PINNING
being its default). Rotating the order of the calls each round spreads
any effect of one on another evenly.

Where the threads' CPUs sit: before and after each run at 2 or more
threads, bench/c2c.c (built into WORK) times handing a cache line between
two bound threads ("c2c_ns" in the JSON, the "c2c ns" column). On the
development VM this read 45-60 ns when its two vCPUs shared an L3 and
about 175 ns when the host had placed them on different ones, for
minutes at a time; in that placement whatever one thread wrote and the
other reads crosses between the caches (a 2 MB buffer read back at
40 GB/s against 85): MobileNetV2 on 2 threads took 2.6 ms instead of
1.75 (dlc; ONNX Runtime slowed too) and ResNet-50 about 18 ms instead of
15.5 (ONNX Runtime hardly slowed). A row whose figures are high was
measured in that placement.

The JSON (--json) holds the versions (ONNX Runtime, OpenVINO, onnx, numpy,
Python, dlc, cc), the machine, the options, and per model and thread count
every raw time in nanoseconds, the summaries, errors and memory figures.
--plot writes a PNG bar chart (matplotlib, Agg backend): a panel per
thread count, per model a bar per engine, its median over the best
peer's, so that dlc's bar is dlc/best and the best peer's is 1.
"""
import argparse
import ctypes
import datetime
import gc
import hashlib
import json
import mmap
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS_DIR = os.path.join(HERE, "models")
ALL_MODELS = ["resnet50", "mobilenetv2", "squeezenet1_1", "bert_base", "yolov8n", "yolov8n_320",
              "dbnet", "crnn", "minilm_l6", "minilm_l6_384", "distilbert", "vit_s16", "decoder_kv",
              "byte_cnn", "unet", "efficientnet_b0", "convnext_blocks", "mlp_b1", "mlp_b64"]
ATOL = 1e-3
RTOL = 1e-3
# the worker's engines: result keys (times "dlc_ns", summary "dlc", ...) -> names
LABELS = {"dlc": "dlc", "ort": "ORT", "ov": "OpenVINO", "base": "baseline dlc"}
PEERS = ("ort", "ov")   # the engines dlc is measured against
CHECK_FIELDS = {"dlc": "check", "base": "base_check"}

# ONNX TensorProto data type code -> numpy dtype name
ONNX_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16",
               6: "int32", 7: "int64", 9: "bool", 10: "float16", 11: "float64",
               12: "uint32", 13: "uint64"}


# --------------------------------------------------------------------------
# small helpers shared by both sides

def log(msg):
    print(msg, flush=True)


def read_status():
    """VmRSS and VmHWM of this process in bytes, from /proc/self/status."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0]) * 1024
    return out


class PeakRss:
    """Peak resident set growth over a region of code (see the module
    docstring): reset VmHWM, note VmRSS, and at the end VmHWM - that."""

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.method = "VmHWM after - VmRSS before, VmHWM reset via /proc/self/clear_refs"
            self.base = read_status()["VmRSS"]
        except OSError:
            self.method = "ru_maxrss growth (lower bound: clear_refs not writable)"
            self.base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return self

    def __exit__(self, *exc):
        if self.method.startswith("VmHWM"):
            now = read_status()
            self.peak = now["VmHWM"] - self.base
            self.after = now["VmRSS"] - self.base
        else:
            self.peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self.base
            self.after = None
        return False


def summarize(times_ns):
    import numpy as np
    a = np.asarray(times_ns, dtype=np.float64) / 1e6
    return {"median_ms": float(np.median(a)), "min_ms": float(a.min()),
            "p90_ms": float(np.percentile(a, 90)), "max_ms": float(a.max()),
            "n": int(a.size)}


def compare(got, ref, atol, rtol):
    """Max abs and rel error of got against ref, and whether every element
    is within atol + rtol * |ref|. rel is |d| / |ref| over elements whose
    ref is finite and not zero (NaN matches NaN, infinities must be equal); `worst` is max |d| / (atol + rtol |ref|), <= 1 on a
    match."""
    import numpy as np
    out = {"dtype": str(ref.dtype), "shape": list(ref.shape)}
    if got.shape != ref.shape:
        out.update(ok=False, error=f"shape {list(got.shape)} vs ORT {list(ref.shape)}")
        return out
    if ref.dtype.kind in "fc":
        g = got.astype(np.float64)
        r = ref.astype(np.float64)
        both_nan = np.isnan(g) & np.isnan(r)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            d = np.abs(g - r)
            same_inf = np.isinf(r) & (g == r)
            d = np.where(both_nan | same_inf, 0.0, d)
            d = np.where(np.isnan(d), np.inf, d)
            tol = atol + rtol * np.abs(np.where(np.isfinite(r), r, 0.0))
            nz = np.isfinite(r) & (r != 0)
            rel = np.where(nz, d / np.where(nz, np.abs(r), 1.0),
                           np.where(np.isfinite(r) | (d == 0), 0.0, np.inf))
            worst = np.where(d == 0, 0.0, d / tol)
        out["max_abs"] = float(d.max()) if d.size else 0.0
        out["max_rel"] = float(rel.max()) if rel.size else 0.0
        out["worst"] = float(worst.max()) if d.size else 0.0
        bad = ~(d <= tol)
        out["ok"] = not bool(bad.any())
        out["mismatches"] = int(bad.sum())
    else:
        diff = got != ref
        out["max_abs"] = float(np.abs(got.astype(np.float64) - ref.astype(np.float64)).max()) \
            if ref.size else 0.0
        out["max_rel"] = None
        out["ok"] = not bool(diff.any())
        out["mismatches"] = int(diff.sum())
    return out


def balanced_orders(n):
    """Orders of n engines (a Williams design) in which each engine comes
    first, and right after each other one, equally often: n orders for even
    n, 2n for odd n (for 2 and 3 engines: every order)."""
    first, lo, hi = [0], 1, n - 1
    while lo <= hi:
        first.append(lo)
        lo += 1
        if lo <= hi:
            first.append(hi)
            hi -= 1
    rows = [[(e + r) % n for e in first] for r in range(n)]
    return rows if n % 2 == 0 else rows + [row[::-1] for row in rows]


# --------------------------------------------------------------------------
# the worker: one (model, threads) measurement in a process of its own

class TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int),
                ("rank", ctypes.c_int), ("shape", ctypes.c_longlong * 8),
                ("bytes", ctypes.c_size_t)]


def header_define(header_text, prefix, what):
    m = re.search(rf"#define\s+{prefix}_{what}\s+(\d+)", header_text)
    return int(m.group(1)) if m else None


class WorkerError(Exception):
    """Stops the worker; its message becomes result["error"]."""


def labelled(key, msg):
    """msg about the library `key`; the baseline's say so."""
    return msg if key == "dlc" else f"{LABELS[key]}: {msg}"


def load_dlc(lib_path, header_path, name, feeds):
    """Loads one dlc library with ctypes and runs it once on fresh workspace
    pages (see the module docstring). Returns a dict: `run` and its `args`,
    the output buffers `outputs` [(name, array)], `ws_size`, the peak RSS
    growth `peak` and in `keep` what the pointers point into; raises
    WorkerError."""
    import numpy as np
    with open(header_path) as f:
        header = f.read()
    prefix = name.upper()
    ws_size = header_define(header, prefix, "WORKSPACE_SIZE")
    n_in = header_define(header, prefix, "NUM_INPUTS")
    n_out = header_define(header, prefix, "NUM_OUTPUTS")
    if ws_size is None or n_in is None or n_out is None:
        raise WorkerError(f"{header_path}: no {prefix}_WORKSPACE_SIZE / NUM_INPUTS / NUM_OUTPUTS")
    if header_define(header, prefix, "WEIGHTS_SIZE") is not None:
        raise WorkerError(f"{header_path}: weights in a separate file; run.py embeds them")

    with PeakRss() as mem:
        lib = ctypes.CDLL(os.path.abspath(lib_path))
        infos_in = (TensorInfo * max(n_in, 1)).in_dll(lib, f"{name}_inputs")
        infos_out = (TensorInfo * n_out).in_dll(lib, f"{name}_outputs")
        run = getattr(lib, f"{name}_run_with_workspace")
        run.restype = ctypes.c_int
        run.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p),
                        ctypes.c_void_p]
        inputs = []
        for i in range(n_in):
            info = infos_in[i]
            key = info.name.decode()
            shape = [int(info.shape[d]) for d in range(info.rank)]
            dtype = ONNX_DTYPES.get(info.dtype)
            if key not in feeds:
                raise WorkerError(f"dlc input {i} '{key}' is not among the example "
                                  f"inputs {list(feeds)}")
            arr = feeds[key]
            if dtype != str(arr.dtype) or shape != list(arr.shape) or info.bytes != arr.nbytes:
                raise WorkerError(f"dlc input '{key}' {dtype} {shape} ({info.bytes} bytes) vs "
                                  f"example {arr.dtype} {list(arr.shape)}")
            inputs.append(arr)
        outputs = []
        for i in range(n_out):
            info = infos_out[i]
            key = info.name.decode()
            shape = [int(info.shape[d]) for d in range(info.rank)]
            dtype = ONNX_DTYPES.get(info.dtype)
            if dtype is None:
                raise WorkerError(f"dlc output '{key}': dtype code {info.dtype} not handled")
            buf = np.zeros(shape, dtype=dtype)
            if buf.nbytes != info.bytes:
                raise WorkerError(f"dlc output '{key}': {info.bytes} bytes for {dtype} {shape}")
            outputs.append((key, buf))
        in_ptrs = (ctypes.c_void_p * max(n_in, 1))(*[a.ctypes.data for a in inputs])
        out_ptrs = (ctypes.c_void_p * n_out)(*[b.ctypes.data for _, b in outputs])
        # fresh anonymous pages (page aligned, so 64-byte aligned), not a
        # reused heap block that is resident already
        ws_map = mmap.mmap(-1, max(ws_size, 1))
        ws_arr = np.frombuffer(ws_map, dtype=np.uint8)
        ws_ptr = ctypes.c_void_p(ws_arr.ctypes.data)
        assert ws_arr.ctypes.data % 64 == 0
        status = run(in_ptrs, out_ptrs, ws_ptr)
    if status != 0:
        raise WorkerError(f"{name}_run_with_workspace returned {status}")
    return {"run": run, "args": (in_ptrs, out_ptrs, ws_ptr), "outputs": outputs,
            "ws_size": ws_size, "peak": mem.peak, "keep": (lib, inputs, ws_map, ws_arr)}


def load_openvino(onnx_path, threads, feeds, out_names):
    """OpenVINO's CPU plugin on the model (bench/compare.py's settings), its
    inputs bound once to the feed arrays (shared, not copied), run once.
    Returns (run, outputs {name: array}, peak RSS growth, the settings it
    reports); raises WorkerError when it cannot compile or run the model."""
    import openvino as ov
    sys.path.insert(0, HERE)
    from compare import openvino_model
    with PeakRss() as mem:
        try:
            compiled = openvino_model(onnx_path, threads)
            req = compiled.create_infer_request()
            for i, port in enumerate(compiled.inputs):
                key = next((k for k in port.get_names() if k in feeds), None)
                if key is None:
                    raise WorkerError(f"OpenVINO input {i} {sorted(port.get_names())} is not "
                                      f"among the example inputs {list(feeds)}")
                req.set_input_tensor(i, ov.Tensor(feeds[key], shared_memory=True))
            req.infer()
        except WorkerError:
            raise
        except Exception as e:  # OpenVINO raises RuntimeError and others of its own
            raise WorkerError(f"OpenVINO: {type(e).__name__}: {str(e).strip()[:400]}")
    ports = {}
    for i, port in enumerate(compiled.outputs):
        for k in port.get_names():
            ports[k] = i
    missing = [n for n in out_names if n not in ports]
    if missing:
        raise WorkerError(f"OpenVINO has no output {missing}")

    def outputs():
        return {n: req.get_output_tensor(ports[n]).data for n in out_names}

    def run():
        req.infer(share_outputs=True)   # outputs stay in OpenVINO's tensors, not copied

    settings = {}
    for key in ("INFERENCE_NUM_THREADS", "NUM_STREAMS", "INFERENCE_PRECISION_HINT",
                "PERFORMANCE_HINT", "ENABLE_CPU_PINNING", "ENABLE_HYPER_THREADING",
                "SCHEDULING_CORE_TYPE"):
        try:
            settings[key] = str(compiled.get_property(key))
        except Exception:  # a property this version lacks
            pass
    return run, outputs, mem.peak, settings, (compiled, req)


def worker(args):
    import numpy as np
    import onnxruntime as ort
    sys.path.insert(0, MODELS_DIR)
    import make  # bench/models/make.py: MODELS, name -> module with example()

    name, threads = args.model, args.threads
    result = {"model": name, "threads": threads, "status": "ERROR",
              "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
              "omp_proc_bind": os.environ.get("OMP_PROC_BIND")}
    # every CPU this process may use, before OpenMP binds the main thread
    full_mask = os.sched_getaffinity(0)

    def finish():
        with open(args.out, "w") as f:
            json.dump(result, f)

    feeds = make.MODELS[name].example(np.random.default_rng([args.seed, 1]))
    feeds = {k: np.ascontiguousarray(v) for k, v in feeds.items()}
    gc.collect()

    # --- dlc (and the baseline dlc): load, bind, first run
    libs = [("dlc", args.lib, args.header)]
    if args.base_lib:
        libs.append(("base", args.base_lib, args.base_header))
    dlcs = {}
    for key, lib_path, header_path in libs:
        try:
            dlcs[key] = load_dlc(lib_path, header_path, name, feeds)
        except WorkerError as e:
            result["error"] = labelled(key, str(e))
            return finish()
        result[f"{key}_peak_rss_bytes"] = dlcs[key]["peak"]
    result["workspace_bytes"] = dlcs["dlc"]["ws_size"]

    # --- ONNX Runtime: session, reference outputs, IO binding. Its pool
    # threads inherit the creating thread's CPU mask: create them with the
    # whole machine, not the one CPU OpenMP bound this thread to.
    dlc_mask = os.sched_getaffinity(0)
    os.sched_setaffinity(0, full_mask)
    with PeakRss() as ort_mem:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        sess = ort.InferenceSession(args.onnx, so, providers=["CPUExecutionProvider"])
        out_names = [o.name for o in sess.get_outputs()]
        ref = sess.run(out_names, feeds)
        ort_out = [np.empty_like(r) for r in ref]
        binding = sess.io_binding()
        for k, v in feeds.items():
            binding.bind_cpu_input(k, v)
        for n, buf in zip(out_names, ort_out):
            binding.bind_output(n, "cpu", 0, buf.dtype, list(buf.shape), buf.ctypes.data)
        sess.run_with_iobinding(binding)
    os.sched_setaffinity(0, dlc_mask)
    result["ort_peak_rss_bytes"] = ort_mem.peak
    result["ort_rss_after_bytes"] = ort_mem.after
    result["rss_method"] = ort_mem.method
    for n, r, b in zip(out_names, ref, ort_out):
        if not compare(b, r, args.atol, args.rtol)["ok"]:
            result["error"] = f"ORT output '{n}': run_with_iobinding differs from run"
            return finish()
    for key, d in dlcs.items():
        if [k for k, _ in d["outputs"]] != out_names:
            result["error"] = (f"outputs: {LABELS[key]} {[k for k, _ in d['outputs']]} "
                               f"vs ORT {out_names}")
            return finish()

    # --- OpenVINO: like ONNX Runtime, created with the whole CPU mask. A
    # model it cannot run, or runs to other outputs, is timed without it.
    ov = None
    if args.openvino:
        os.sched_setaffinity(0, full_mask)
        try:
            run, ov_outputs, peak, settings, keep = load_openvino(args.onnx, threads, feeds,
                                                                  out_names)
            result["ov_peak_rss_bytes"] = peak
            result["ov_settings"] = settings
            result["ov_check"] = [dict(compare(ov_outputs()[n], r, args.atol, args.rtol), name=n)
                                  for n, r in zip(out_names, ref)]
            if all(c["ok"] for c in result["ov_check"]):
                ov = (run, ov_outputs, keep)
            else:
                result["ov_error"] = "outputs differ from ORT: " + "; ".join(
                    f"'{c['name']}' max_abs {c.get('max_abs', 0):.3g}"
                    for c in result["ov_check"] if not c["ok"])
        except WorkerError as e:
            result["ov_error"] = str(e)
        os.sched_setaffinity(0, dlc_mask)

    # --- the check: "check" (dlc) and "base_check", "_after" once timed
    def check(after=""):
        ok = True
        for key, d in dlcs.items():
            field = CHECK_FIELDS[key] + after
            result[field] = [dict(compare(b, r, args.atol, args.rtol), name=k)
                             for (k, b), r in zip(d["outputs"], ref)]
            ok = ok and all(c["ok"] for c in result[field])
        if ov and after:
            result["ov_check" + after] = [
                dict(compare(ov[1]()[n], r, args.atol, args.rtol), name=n)
                for n, r in zip(out_names, ref)]
            ok = ok and all(c["ok"] for c in result["ov_check" + after])
        return ok

    if not check():
        result["status"] = "FAIL"
        return finish()

    # --- timing: each round calls every engine once, in one of the
    # balanced orders, the next order each round
    clock = time.perf_counter_ns
    calls = [(key, d["run"], d["args"]) for key, d in dlcs.items()]
    calls.insert(1, ("ort", sess.run_with_iobinding, (binding,)))
    if ov:
        calls.insert(2, ("ov", ov[0], ()))
    orders = [[calls[i] for i in order] for order in balanced_orders(len(calls))]
    times = {key: [] for key, _, _ in calls}
    bad = []

    # At T >= 2 each call starts from an idle machine: ONNX Runtime's pool
    # spins ~30 ms after a run and would otherwise share the cores with
    # dlc's next run (and dlc's OpenMP team with ORT's), which measured
    # the other engine's tail, not the engine under test.
    gap = args.gap_ms / 1000.0 if args.gap_ms >= 0 else (0.05 if args.threads >= 2 else 0.0)
    result["gap_s"] = gap

    gc.disable()
    try:
        for r in range(args.warmup + args.runs):
            for key, fn, fn_args in orders[r % len(orders)]:
                if gap:
                    time.sleep(gap)
                t0 = clock()
                st = fn(*fn_args)  # ORT's and OpenVINO's return None, dlc's its status
                t1 = clock()
                if st:
                    bad.append((key, st))
                if r >= args.warmup:
                    times[key].append(t1 - t0)
    finally:
        gc.enable()
    if bad:
        key, st = bad[0]
        result["error"] = labelled(key, f"{name}_run_with_workspace returned {st} while timing")
        return finish()
    if not check("_after"):
        result["status"] = "FAIL"
        result["error"] = "outputs changed while timing"
        return finish()
    for key, ns in times.items():
        result[f"{key}_ns"] = ns
        result[key] = summarize(ns)
    result["status"] = "ok"
    return finish()


# --------------------------------------------------------------------------
# the driver

def count_flops(path):
    """2 x multiply-adds of Conv, Gemm and MatMul, shapes from ONNX shape
    inference. Returns (flops, {op: flops}, [nodes whose shapes are not
    static]); flops is None when any such node's shape is unknown."""
    import onnx
    model = onnx.load(path)
    model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    g = model.graph
    shapes = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
            shapes[vi.name] = None if None in dims else dims
    for init in g.initializer:
        shapes[init.name] = list(init.dims)

    def prod(xs):
        p = 1
        for x in xs:
            p *= x
        return p

    per_op, unknown = {}, []
    for i, node in enumerate(g.node):
        if node.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        out = shapes.get(node.output[0])
        a = shapes.get(node.input[0])
        b = shapes.get(node.input[1])
        if out is None or a is None or b is None:
            unknown.append(f"{i} '{node.name}' ({node.op_type})")
            continue
        if node.op_type == "Conv":  # out [N, M, *spatial], W [M, C/group, *kernel]
            macs = prod(out) * prod(b[1:])
        elif node.op_type == "Gemm":
            trans_a = next((at.i for at in node.attribute if at.name == "transA"), 0)
            macs = prod(out) * (a[0] if trans_a else a[1])
        else:  # MatMul: out [..., M, N], K = A's last dim
            macs = prod(out) * a[-1]
        per_op[node.op_type] = per_op.get(node.op_type, 0) + 2 * macs
    total = None if unknown else sum(per_op.values())
    return total, per_op, unknown


def weights_bytes(c_path):
    """The weight bytes model.c embeds, from its "Weights: N bytes" comment
    (None when it has none)."""
    with open(c_path, "rb") as f:
        head = f.read(1 << 20)
        m = re.search(rb"/\* Weights: (\d+) bytes", head)
        if m:
            return int(m.group(1))
        # the weights come after the runtime kernels; look further, in chunks
        tail = head[-64:]
        while True:
            chunk = f.read(1 << 24)
            if not chunk:
                return 0
            m = re.search(rb"/\* Weights: (\d+) bytes", tail + chunk)
            if m:
                return int(m.group(1))
            tail = chunk[-64:]


def file_sha256(path, h):
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 24)
            if not chunk:
                return
            h.update(chunk)


def run_cmd(cmd, **kw):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    return p, time.perf_counter() - t


def first_line(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return None


def build_paths(args, stem):
    """WORK/STEM.c, WORK/STEM.h and WORK/libSTEM.so."""
    return [os.path.join(args.work, f) for f in (f"{stem}.c", f"{stem}.h", f"lib{stem}.so")]


def compile_model(args, dlc, stem, name, onnx_path, entry):
    """dlc (the binary `dlc`) then cc into WORK/STEM.c and WORK/libSTEM.so;
    fills entry, returns the library path or None."""
    c_path, h_path, lib_path = build_paths(args, stem)
    cmd = [dlc, onnx_path, "-o", c_path, "--name", name]
    entry["dlc_cmd"] = shlex.join(cmd)
    p, secs = run_cmd(cmd)
    entry["dlc_seconds"] = round(secs, 3)
    if p.returncode != 0:
        msg = " | ".join(p.stderr.strip().splitlines()[:20]) or "(no message)"
        entry["error"] = f"dlc exit {p.returncode}: {msg}"
        return None
    with open(h_path) as f:
        header = f.read()
    entry["workspace_bytes"] = header_define(header, name.upper(), "WORKSPACE_SIZE")
    m = re.search(r"naive sum: (\d+)", header)
    entry["workspace_naive_bytes"] = int(m.group(1)) if m else None
    entry["weights_bytes"] = weights_bytes(c_path)
    entry["c_bytes"] = os.path.getsize(c_path)

    cc = [args.cc] + shlex.split(args.cflags) + ["-fPIC", "-shared"]
    if not args.no_openmp:
        cc.append("-fopenmp")
    cc += [c_path, "-o", lib_path, "-lm"]
    entry["cc_cmd"] = shlex.join(cc)
    h = hashlib.sha256()
    h.update(entry["cc_cmd"].encode() + b"\0" + (args.cc_version or "").encode() + b"\0")
    file_sha256(c_path, h)
    file_sha256(h_path, h)
    stamp = lib_path + ".sha256"
    if os.path.exists(lib_path) and os.path.exists(stamp):
        with open(stamp) as f:
            if f.read().strip() == h.hexdigest():
                entry["cc_seconds"] = 0.0
                entry["cc_cached"] = True
                return lib_path
    if os.path.exists(stamp):
        os.remove(stamp)
    p, secs = run_cmd(cc)
    entry["cc_seconds"] = round(secs, 3)
    entry["cc_cached"] = False
    cc_log = os.path.join(args.work, f"{stem}.cc.log")
    with open(cc_log, "w") as f:
        f.write(p.stderr)
    entry["cc_warnings"] = p.stderr.count("warning:")
    if p.returncode != 0:
        entry["error"] = f"cc exit {p.returncode}, see {cc_log}: " + \
            " | ".join(p.stderr.strip().splitlines()[:5])
        return None
    with open(stamp, "w") as f:
        f.write(h.hexdigest() + "\n")
    return lib_path


def run_worker(args, name, onnx_path, stems, threads):
    """One worker on the libraries of `stems` (dlc's, then the baseline's)."""
    out = os.path.join(args.work, f"{name}.t{threads}.result.json")
    if os.path.exists(out):
        os.remove(out)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker",
           "--model", name, "--onnx", onnx_path,
           "--threads", str(threads), "--runs", str(args.runs),
           "--warmup", str(args.warmup), "--seed", str(args.seed),
           "--gap-ms", repr(args.gap_ms),
           "--atol", repr(args.atol), "--rtol", repr(args.rtol), "--out", out]
    if args.openvino:
        cmd.append("--openvino")
    for opt, stem in zip(("--", "--base-"), stems):
        _, h_path, lib_path = build_paths(args, stem)
        cmd += [opt + "lib", lib_path, opt + "header", h_path]
    # dlc's OpenMP threads keep libgomp's default waiting (spin briefly,
    # then sleep; OMP_WAIT_POLICY=passive made every layer a futex wake-up:
    # MobileNetV2 6.0 ms on 2 threads against 2.2) and are bound one per
    # CPU (OMP_PROC_BIND): after the idle gap an unbound worker was often
    # woken on the main thread's CPU and every join waited out a time slice
    # (2-thread medians 4-6x the minimum). ONNX Runtime's threads are not
    # bound (the worker creates them with the full CPU mask). Override
    # either in the environment.
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if threads > 1:
        env.setdefault("OMP_PROC_BIND", "true")
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"threads": threads, "status": "ERROR",
                "error": f"worker timed out after {args.timeout} s"}
    if p.returncode != 0 or not os.path.exists(out):
        tail = " | ".join((p.stderr or p.stdout).strip().splitlines()[-8:])
        return {"threads": threads, "status": "ERROR",
                "error": f"worker exit {p.returncode}: {tail}"}
    with open(out) as f:
        return json.load(f)


def measure_peak(args):
    """The per-core fp32 peak that `dlc bench --profile` measures (its FMA
    loop, cc -O3 -march=native), run on the smallest model written; 110
    when that fails."""
    paths = [p for p in (os.path.join(args.work, f"{m}.onnx") for m in ALL_MODELS)
             if os.path.exists(p)]
    if paths:
        p, _ = run_cmd([args.dlc, "bench", "--profile", "--json", "--runs", "1",
                        "--warmup", "0", min(paths, key=os.path.getsize)])
        try:
            peak = json.loads(p.stdout)["profile"]["peak_gflops_per_core"]
            if peak and peak > 0:
                log(f"fp32 peak: {peak:.0f} GFLOP/s per core (measured by dlc bench)")
                return float(peak), "measured by dlc bench --profile"
        except (ValueError, KeyError, TypeError):
            pass
    log("run.py: note: could not measure the fp32 peak; assuming 110 GFLOP/s per core "
        "(--peak-gflops sets it)")
    return 110.0, "assumed (measurement failed)"


def build_c2c(args):
    """Compiles bench/c2c.c (the core-to-core latency probe) into WORK."""
    exe = os.path.join(args.work, "c2c")
    p, _ = run_cmd([args.cc, "-std=c11", "-O2", "-fopenmp", os.path.join(HERE, "c2c.c"),
                    "-o", exe])
    if p.returncode != 0:
        log(f"run.py: note: the core-to-core probe did not build: {p.stderr.strip()[:200]}")
        return None
    return exe


def c2c_ns(exe):
    """One-way core-to-core latency in ns of two bound threads, or None."""
    if exe is None:
        return None
    env = dict(os.environ, OMP_NUM_THREADS="2", OMP_PROC_BIND="true")
    try:
        p = subprocess.run([exe], env=env, capture_output=True, text=True, timeout=60)
        return int(p.stdout.split()[0]) if p.returncode == 0 else None
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def machine_info():
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu or platform.processor(), "logical_cpus": os.cpu_count(),
            "machine": platform.machine(), "kernel": platform.release(),
            "loadavg_start": list(os.getloadavg())}


def pinned_version(pkg):
    try:
        with open(os.path.join(ROOT, "requirements.txt")) as f:
            for line in f:
                m = re.match(rf"\s*{re.escape(pkg)}==(\S+)", line)
                if m:
                    return m.group(1)
    except OSError:
        pass
    return None


def git_describe():
    p = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return p.stdout.strip() + ("+dirty" if dirty else "")


def mb(x):
    return "-" if x is None else f"{x / 1e6:.1f}"


def c2c_text(pair):
    if not pair:
        return "-"
    return "/".join("?" if v is None else str(v) for v in pair)


def geomean(xs):
    import math
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def summary(report, thread_counts):
    """Per thread count, the geometric means over the models that ran of
    dlc / best peer, dlc / ORT and dlc / OpenVINO (where it ran)."""
    out = {}
    for t in thread_counts:
        rows = [r for m in report["models"] for r in m["results"]
                if r["threads"] == t and r["status"] == "ok"]
        ov = [r["dlc_ov_ratio"] for r in rows if "dlc_ov_ratio" in r]
        out[str(t)] = {
            "models": len(rows),
            "geomean_dlc_best": geomean([r["dlc_best_ratio"] for r in rows]),
            "geomean_dlc_ort": geomean([r["ratio"] for r in rows]),
            "geomean_dlc_ov": geomean(ov), "models_with_ov": len(ov),
            "worst_dlc_best": max((r["dlc_best_ratio"] for r in rows), default=None)}
    return out


def print_tables(report):
    meta = report["meta"]
    peak = meta["peak_gflops_per_core"]
    load = (meta["machine"]["loadavg_start"][0], meta["machine"]["loadavg_end"][0])
    ov = bool(meta.get("openvino"))
    log("")
    log(f"{meta['dlc_version'] or 'dlc ?'} ({meta['git'] or '?'}) vs ONNX Runtime "
        f"{meta['onnxruntime']}" + (f" and OpenVINO {meta['openvino'].split('-')[0]}" if ov else "")
        + f" | {meta['machine']['cpu']}, {meta['machine']['logical_cpus']} "
        f"CPUs | {meta['runs']} rounds after {meta['warmup']} warm-up | "
        f"peak {peak:.0f} GFLOP/s per core ({meta['peak_source']}) | "
        f"load average {load[0]:.1f} at start, "
        f"{load[1]:.1f} at end")
    log("latency in ms: median (min / p90); ratios of medians, lower is better for dlc"
        + ("; best = the faster of ORT and OV (OpenVINO)" if ov else "")
        + "; %pk = share of fp32 peak x threads")
    base = "baseline_dlc" in meta
    if base:
        log(f"base = the baseline, {meta['baseline_dlc_version'] or 'dlc ?'} "
            f"({meta['baseline_dlc']}), timed in the same rounds; "
            "dlc/base = dlc median / base median")

    def lat(s):
        return f"{s['median_ms']:8.2f} ({s['min_ms']:7.2f} / {s['p90_ms']:7.2f})"

    def pct(x):
        return f"{'-' if x is None else f'{x:6.1f}%':>7s}"

    hdr = (f"{'model':14s} {'T':>2s} {'check':6s} {'GFLOP':>6s} | {'dlc ms':>8s} "
           f"{'(min / p90)':>17s} | {'ORT ms':>8s} {'(min / p90)':>17s} | "
           + (f"{'OV ms':>8s} {'(min / p90)':>17s} | " if ov else "")
           + f"{'dlc/ORT':>7s} "
           + (f"{'dlc/OV':>7s} {'dlc/best':>8s} " if ov else "") + "| "
           + (f"{'base ms':>8s} {'(min / p90)':>17s} | {'base/ORT':>8s} {'dlc/base':>8s} | "
              if base else "")
           + f"{'dlc %pk':>7s} {'ORT %pk':>7s} " + (f"{'OV %pk':>7s} " if ov else "")
           + f"| {'c2c ns':>9s}")
    log(hdr)
    log("-" * len(hdr))
    ov_notes = []
    for m in report["models"]:
        gf = m.get("gflop")
        gfs = f"{gf:6.2f}" if gf else f"{'?':>6s}"
        rows = m["results"] or [{"threads": None, "status": "ERROR"}]
        for r in rows:
            t = "-" if r["threads"] is None else str(r["threads"])
            if r["status"] != "ok":
                log(f"{m['name']:14s} {t:>2s} {r['status']:6s} {gfs} | "
                    f"{(r.get('error') or m.get('error') or 'outputs differ from ORT')[:90]}")
                continue
            if ov and "ov" not in r:
                ov_notes.append(f"{m['name']} T={t}: {r.get('ov_error', 'not run')}")
            ov_cols = ""
            if ov:
                ov_cols = (f"{lat(r['ov'])} | " if "ov" in r else f"{'n/a':>8s} {'':17s} | ")
            log(f"{m['name']:14s} {t:>2s} {'ok':6s} {gfs} | {lat(r['dlc'])} | {lat(r['ort'])} | "
                + ov_cols + f"{r['ratio']:6.2f}x "
                + ((f"{r['dlc_ov_ratio']:6.2f}x " if "ov" in r else f"{'-':>7s} ")
                   + f"{r['dlc_best_ratio']:7.2f}x " if ov else "") + "| "
                + (f"{lat(r['base'])} | {r['base_ratio']:7.2f}x {r['dlc_base_ratio']:7.2f}x | "
                   if base else "")
                + pct(r.get("dlc_pct_peak")) + " " + pct(r.get("ort_pct_peak")) + " "
                + (pct(r.get("ov_pct_peak")) + " " if ov else "")
                + f"| {c2c_text(r.get('c2c_ns')):>9s}")
    for note in ov_notes:
        log(f"OpenVINO not timed on {note}")
    for t, sm in report.get("summary", {}).items():
        if not sm["models"]:
            continue
        line = (f"geometric mean over {sm['models']} model{'s' if sm['models'] != 1 else ''} "
                f"at {t} thread{'s' if t != '1' else ''}: dlc/best peer "
                f"{sm['geomean_dlc_best']:.3f} (worst {sm['worst_dlc_best']:.2f}), "
                f"dlc/ORT {sm['geomean_dlc_ort']:.3f}")
        if sm["models_with_ov"]:
            line += f", dlc/OV {sm['geomean_dlc_ov']:.3f} (over {sm['models_with_ov']})"
        log(line + ("" if ov else "; the best peer is ORT, the only one"))
    if any(r.get("c2c_ns") for m in report["models"] for r in m["results"]):
        log("c2c ns: one-way core-to-core latency before / after the row (bench/c2c.c); a "
            "high figure (175 ns against 45 on the development VM) means the two CPUs did not "
            "share a cache, which slows 2-thread runs (dlc's more than ONNX Runtime's)")
    log("")
    log("memory in MB: dlc arena = NAME_WORKSPACE_SIZE (naive sum of its tensors); "
        "dlc/ORT" + ("/OV" if ov else "") + " peak = peak RSS growth measured in the worker; "
        "max errors (dlc's) vs ORT over all outputs")
    hdr = (f"{'model':14s} {'T':>2s} | {'arena':>7s} {'(naive)':>9s} {'dlc peak':>9s} | "
           f"{'ORT peak':>9s} " + (f"{'OV peak':>9s} " if ov else "")
           + f"| {'weights':>8s} {'file':>8s} | {'max abs':>9s} {'max rel':>9s}")
    log(hdr)
    log("-" * len(hdr))
    for m in report["models"]:
        for r in m["results"] or [{"threads": None}]:
            t = "-" if r["threads"] is None else str(r["threads"])
            checks = r.get("check") or []
            fl = [c for c in checks if c.get("max_abs") is not None]
            mabs = max((c["max_abs"] for c in fl), default=None)
            mrel = max((c["max_rel"] for c in fl if c.get("max_rel") is not None), default=None)
            log(f"{m['name']:14s} {t:>2s} | {mb(m.get('workspace_bytes')):>7s} "
                f"{'(' + mb(m.get('workspace_naive_bytes')) + ')':>9s} "
                f"{mb(r.get('dlc_peak_rss_bytes')):>9s} | {mb(r.get('ort_peak_rss_bytes')):>9s} "
                + (f"{mb(r.get('ov_peak_rss_bytes')):>9s} " if ov else "") + "| "
                f"{mb(m.get('weights_bytes')):>8s} {mb(m.get('file_bytes')):>8s} | "
                f"{'-' if mabs is None else f'{mabs:.2e}':>9s} "
                f"{'-' if mrel is None else f'{mrel:.2e}':>9s}")
    methods = {r.get("rss_method") for m in report["models"] for r in m["results"]} - {None}
    for method in sorted(methods):
        log(f"peak RSS method: {method}")
    over = sorted({m["name"] for m in report["models"] for r in m["results"]
                   if max(r.get("dlc_pct_peak") or 0, r.get("ort_pct_peak") or 0) > 100})
    if over:
        log(f"note: {', '.join(over)} ran above {peak:.0f} GFLOP/s per core: the FLOPs are "
            f"counted as direct convolution, which Winograd does with fewer multiply-adds; "
            f"otherwise the assumed peak is too low for this CPU (--peak-gflops: cores x GHz "
            f"x FLOP/cycle; `dlc bench` prints a measured one)")


def plot(report, path):
    """One panel per thread count; per model a bar per engine: its median
    latency / the best peer's (dlc's bar is dlc/best; the best peer's is
    1.0), a black line on dlc's at the baseline's."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(report["models"])
    threads = sorted({r["threads"] for m in models for r in m["results"]} or {1})
    engines = ["dlc", "ort"] + (["ov"] if report["meta"].get("openvino") else [])
    colors = {"dlc": "tab:blue", "ort": "tab:orange", "ov": "tab:green"}
    width = 0.8 / len(engines)

    def rel(r, key):
        return r[key]["median_ms"] / r[r["best_peer"]]["median_ms"]

    top = 1.0
    for m in models:
        for r in m["results"]:
            if r["status"] == "ok":
                top = max([top] + [rel(r, k) for k in engines + ["base"] if k in r])
    ymax = top * 1.18
    fig, axes = plt.subplots(len(threads), 1, squeeze=False, dpi=120,
                             figsize=(max(6.0, 1.5 * len(models) + 2), 3.6 * len(threads) + 0.6))
    for ax, t in zip(axes[:, 0], threads):
        for i, m in enumerate(models):
            r = next((r for r in m["results"] if r["threads"] == t), None)
            if r is None:
                continue
            if r["status"] != "ok":
                ax.bar(i, ymax * 0.12, 0.8, color="none", edgecolor="crimson", hatch="///")
                ax.text(i, ymax * 0.13, r["status"], ha="center", va="bottom",
                        fontsize=8, color="crimson", fontweight="bold")
                continue
            for j, key in enumerate(engines):
                x = i + width * (j + 0.5 - len(engines) / 2)
                if key not in r:
                    ax.text(x, ymax * 0.02, "n/a", ha="center", va="bottom", fontsize=7,
                            rotation=90, color=colors[key])
                    continue
                v = rel(r, key)
                ax.bar(x, v, width * 0.92, color=colors[key])
                if key == "dlc":
                    if "base" in r:
                        ax.plot([x - width * 0.46, x + width * 0.46], [rel(r, "base")] * 2,
                                color="black", linewidth=2)
                    ax.text(x, v + ymax * 0.01, f"{v:.2f}x", ha="center", va="bottom",
                            fontsize=8, bbox=dict(facecolor="white", edgecolor="none", pad=0.6))
        ax.axhline(1.0, color="black", linewidth=1, linestyle="--")
        sm = report.get("summary", {}).get(str(t))
        gm = f"; geometric mean dlc/best {sm['geomean_dlc_best']:.2f}" \
            if sm and sm["models"] else ""
        ax.set_title(f"{t} thread{'s' if t != 1 else ''}{gm}", fontsize=9)
        ax.set_xticks(range(len(models)))
        ax.set_xticklabels([m["name"] for m in models], fontsize=8)
        ax.set_xlim(-0.6, len(models) - 0.4)
        ax.set_ylim(0, ymax * 1.12)
        ax.set_ylabel("median / best peer's\n(lower is better)", fontsize=8)
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[k]) for k in engines]
    labels = [{"dlc": "dlc", "ort": "ONNX Runtime", "ov": "OpenVINO"}[k] for k in engines]
    if "baseline_dlc" in report["meta"]:
        handles.append(plt.Line2D([0], [0], color="black", linewidth=2))
        labels.append("baseline dlc")
    axes[0, 0].legend(handles, labels, loc="upper right", fontsize=8, frameon=False,
                      ncol=len(labels))
    meta = report["meta"]
    peers = f"ONNX Runtime {meta['onnxruntime']}" + (
        f" and OpenVINO {meta['openvino'].split('-')[0]}" if meta.get("openvino") else "")
    fig.suptitle(f"dlc vs {peers}, {meta['runs']} alternating rounds, medians\n"
                 f"{meta['machine']['cpu']}, {meta['machine']['logical_cpus']} CPUs, "
                 f"{meta['date'][:10]}, dlc {meta['git'] or ''}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def driver(args):
    import numpy as np
    import onnx
    import onnxruntime as ort

    if args.runs < 20 or args.warmup < 5:
        log("run.py: note: fewer than 20 rounds or 5 warm-ups: medians will be rough")
    models = [m for m in args.models.split(",") if m]
    bad = [m for m in models if m not in ALL_MODELS]
    if bad or not models:
        log(f"run.py: error: unknown model(s) {bad}; choose from {','.join(ALL_MODELS)}")
        return 2
    try:
        thread_counts = [int(t) for t in args.threads.split(",") if t]
        assert thread_counts and all(t >= 1 for t in thread_counts)
    except (ValueError, AssertionError):
        log(f"run.py: error: --threads wants positive integers, got {args.threads!r}")
        return 2
    if args.dlc is None:
        for cand in ("build/dlc", "build-suite/dlc"):
            if os.path.exists(os.path.join(ROOT, cand)):
                args.dlc = os.path.join(ROOT, cand)
                break
        else:
            log("run.py: error: no dlc at build/dlc or build-suite/dlc: build it or pass --dlc")
            return 2
    for opt in ("dlc", "baseline_dlc"):
        if getattr(args, opt) is not None:
            path = os.path.abspath(getattr(args, opt))
            setattr(args, opt, path)
            if not os.access(path, os.X_OK):
                log(f"run.py: error: {path} is not an executable")
                return 2
    args.work = os.path.abspath(args.work)
    os.makedirs(args.work, exist_ok=True)
    args.cc_version = first_line([args.cc, "--version"])

    pin = pinned_version("onnxruntime")
    if pin and pin != ort.__version__:
        log(f"run.py: warning: onnxruntime {ort.__version__} is not the pinned {pin}")
    ov_version = None
    if not args.no_openvino:
        try:
            import openvino
            ov_version = openvino.__version__
        except ImportError as e:
            log(f"run.py: note: no OpenVINO in this Python ({e}; pip install openvino): "
                "comparing with ONNX Runtime only")
    args.openvino = ov_version is not None
    report = {"meta": {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "onnxruntime": ort.__version__, "onnxruntime_pinned": pin,
        "openvino": ov_version,
        "onnx": onnx.__version__, "numpy": np.__version__,
        "python": platform.python_version(),
        "dlc": args.dlc, "dlc_version": first_line([args.dlc, "--version"]),
        "git": git_describe(), "cc": args.cc_version,
        "cflags": args.cflags, "openmp": not args.no_openmp,
        "machine": machine_info(), "threads": thread_counts,
        "runs": args.runs, "warmup": args.warmup, "seed": args.seed,
        "atol": args.atol, "rtol": args.rtol,
        "peak_gflops_per_core": args.peak_gflops, "peak_source": "--peak-gflops",
        "timing": ("alternating rounds in one process, one call of each engine each, "
                   "in balanced orders (each engine first, and right after each other one, "
                   "equally often); perf_counter_ns around the ctypes call of "
                   "NAME_run_with_workspace, around InferenceSession.run_with_iobinding "
                   "with inputs and outputs bound to preallocated arrays, and around "
                   "OpenVINO's InferRequest.infer; gc off"),
        "ort_session": ("CPUExecutionProvider, ORT_ENABLE_ALL, intra_op_num_threads=T, "
                        "inter_op_num_threads=1, sequential"),
        "openvino_settings": ("CPU plugin, INFERENCE_PRECISION_HINT f32, PERFORMANCE_HINT "
                              "LATENCY, NUM_STREAMS 1, INFERENCE_NUM_THREADS T (bench/compare.py "
                              "openvino_config); inputs bound once as shared tensors, "
                              "infer(share_outputs=True) timed") if ov_version else None,
        "memory": ("peak RSS growth over session creation + first runs (ORT), model "
                   "compilation + first run (OpenVINO) and library load + first run (dlc), "
                   "each in the worker process"),
        "flops": "2 x multiply-adds of Conv, Gemm, MatMul, shapes from onnx shape inference",
        "c2c": ("c2c_ns: one-way latency of a cache line between two bound OpenMP threads "
                "(bench/c2c.c), before and after each run at T >= 2"),
    }, "models": []}
    if args.baseline_dlc:
        report["meta"].update(
            baseline_dlc=args.baseline_dlc,
            baseline_dlc_version=first_line([args.baseline_dlc, "--version"]))
        report["meta"]["timing"] += ("; with baseline_dlc one more call per round, to that "
                                     "build's library")

    c2c = build_c2c(args) if max(thread_counts) >= 2 and not args.no_openmp else None
    missing = [m for m in models if not os.path.exists(os.path.join(args.work, f"{m}.onnx"))]
    failed = False
    if missing:
        log(f"generating {', '.join(missing)} into {args.work}")
        p = subprocess.run([sys.executable, os.path.join(MODELS_DIR, "make.py"), args.work,
                            "--only", *missing])
        if p.returncode != 0:
            log("run.py: error: bench/models/make.py failed")
            failed = True

    if args.peak_gflops is None:
        args.peak_gflops, source = measure_peak(args)
        report["meta"]["peak_gflops_per_core"] = args.peak_gflops
        report["meta"]["peak_source"] = source

    for name in models:
        onnx_path = os.path.join(args.work, f"{name}.onnx")
        entry = {"name": name, "onnx": onnx_path, "results": []}
        report["models"].append(entry)
        if not os.path.exists(onnx_path):
            entry["error"] = "model not generated"
            failed = True
            continue
        entry["file_bytes"] = os.path.getsize(onnx_path)
        flops, per_op, unknown = count_flops(onnx_path)
        entry["gflop"] = None if flops is None else flops / 1e9
        entry["gflop_per_op"] = {k: v / 1e9 for k, v in per_op.items()}
        if unknown:
            entry["flops_unknown_nodes"] = unknown
        log(f"{name}: {mb(entry['file_bytes'])} MB, "
            f"{'?' if flops is None else f'{flops / 1e9:.2f}'} GFLOP; compiling")
        builds = [("dlc", args.dlc, name, entry)]
        if args.baseline_dlc:
            entry["baseline"] = {}
            builds.append(("baseline dlc", args.baseline_dlc, f"{name}.base", entry["baseline"]))
        for label, dlc, stem, e in builds:
            if compile_model(args, dlc, stem, name, onnx_path, e) is None:
                entry["error"] = e["error"] if e is entry else f"{label}: {e['error']}"
                break
            cc_note = "cached" if e.get("cc_cached") else f"{e['cc_seconds']:.1f} s"
            if e.get("cc_warnings"):
                n = e["cc_warnings"]
                cc_note += f", {n} warning{'s' if n != 1 else ''} in {stem}.cc.log"
            log(f"{name}: {label} {e['dlc_seconds']:.1f} s, cc {cc_note}, arena "
                f"{mb(e['workspace_bytes'])} MB, weights {mb(e['weights_bytes'])} MB")
        if "error" in entry:
            log(f"{name}: ERROR {entry['error']}")
            failed = True
            continue
        for t in thread_counts:
            before = c2c_ns(c2c) if t >= 2 else None
            r = run_worker(args, name, onnx_path, [stem for _, _, stem, _ in builds], t)
            r["threads"] = t
            if t >= 2:
                r["c2c_ns"] = [before, c2c_ns(c2c)]
            entry["results"].append(r)
            if r["status"] == "ok":
                r["ratio"] = r["dlc"]["median_ms"] / r["ort"]["median_ms"]
                if "ov" in r:
                    r["dlc_ov_ratio"] = r["dlc"]["median_ms"] / r["ov"]["median_ms"]
                r["best_peer"] = min((k for k in PEERS if k in r),
                                     key=lambda k: r[k]["median_ms"])
                r["dlc_best_ratio"] = r["dlc"]["median_ms"] / r[r["best_peer"]]["median_ms"]
                peers = f", ORT {r['ort']['median_ms']:.2f} ms"
                if "ov" in r:
                    peers += f", OpenVINO {r['ov']['median_ms']:.2f} ms"
                elif r.get("ov_error"):
                    peers += f" (OpenVINO not timed: {r['ov_error'][:120]})"
                base = ""
                if "base" in r:
                    r["base_ratio"] = r["base"]["median_ms"] / r["ort"]["median_ms"]
                    r["dlc_base_ratio"] = r["dlc"]["median_ms"] / r["base"]["median_ms"]
                    base = (f", baseline {r['base']['median_ms']:.2f} ms, "
                            f"dlc/baseline {r['dlc_base_ratio']:.2f}")
                if flops:
                    for side in [k for k in LABELS if k in r]:
                        gflops = flops / 1e9 / (r[side]["median_ms"] / 1e3)
                        r[f"{side}_gflops"] = gflops
                        r[f"{side}_pct_peak"] = 100.0 * gflops / (args.peak_gflops * t)
                log(f"{name} T={t}: dlc {r['dlc']['median_ms']:.2f} ms{peers}, dlc/ORT "
                    f"{r['ratio']:.2f}"
                    + (f", dlc/OpenVINO {r['dlc_ov_ratio']:.2f}" if "ov" in r else "")
                    + f", dlc/best {r['dlc_best_ratio']:.2f}" + base
                    + (f", core-to-core {c2c_text(r['c2c_ns'])} ns" if t >= 2 else ""))
            else:
                failed = True
                if r["status"] == "FAIL":
                    worst = [(key, c) for key, f in CHECK_FIELDS.items()
                             for c in r.get(f + "_after") or r.get(f) or [] if not c["ok"]]
                    r.setdefault("error", "outputs differ from ORT: " + "; ".join(labelled(
                        key, f"'{c['name']}' max_abs {c.get('max_abs', 0):.3g} "
                        f"max_rel {c.get('max_rel') or 0:.3g} "
                        f"({c.get('mismatches', '?')} elements)" if "error" not in c
                        else f"'{c['name']}' {c['error']}") for key, c in worst))
                log(f"{name} T={t}: {r['status']} {r.get('error', '')}")

    report["meta"]["machine"]["loadavg_end"] = list(os.getloadavg())
    report["summary"] = summary(report, thread_counts)
    print_tables(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        log(f"wrote {args.json}")
    if args.plot:
        try:
            plot(report, args.plot)
            log(f"wrote {args.plot}")
        except ImportError as e:
            log(f"run.py: error: --plot needs matplotlib (requirements.txt): {e}")
            failed = True
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(
        description="dlc against ONNX Runtime on full-size networks, side by side "
                    "(a benchmark: exits 0 however slow, 1 on errors or mismatches).")
    ap.add_argument("--dlc", help="the dlc binary (default: build/dlc, else build-suite/dlc)")
    ap.add_argument("--baseline-dlc", metavar="PATH",
                    help="another dlc binary (say the previous main's): its build of each "
                         "model is checked and timed too, in the same rounds, and compared")
    ap.add_argument("--models", default=",".join(ALL_MODELS),
                    help=f"comma-separated, from {','.join(ALL_MODELS)} (default: all)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--runs", type=int, default=20, help="timed rounds (default 20)")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up rounds (default 5)")
    ap.add_argument("--seed", type=int, default=0, help="input seed (default 0)")
    ap.add_argument("--gap-ms", type=float, default=-1,
                    help="idle milliseconds before each timed call (default: 0 at 1 thread, "
                         "50 at 2 or more, so neither engine's spinning threads meet the other's run)")
    ap.add_argument("--peak-gflops", type=float, default=None,
                    help="fp32 peak GFLOP/s of one core (default: measured by dlc bench)")
    ap.add_argument("--atol", type=float, default=ATOL, help=f"default {ATOL}")
    ap.add_argument("--rtol", type=float, default=RTOL, help=f"default {RTOL}")
    ap.add_argument("--json", help="write every number, raw times included, here")
    ap.add_argument("--plot", help="write a PNG bar chart of the ratios here")
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "bench"),
                    help="models, generated code and libraries (default build/bench)")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"),
                    help="C compiler (default $CC or cc)")
    ap.add_argument("--cflags", default="-O3 -march=native",
                    help="optimisation flags (default '-O3 -march=native'; "
                         "-fPIC -shared -fopenmp are added)")
    ap.add_argument("--no-openmp", action="store_true", help="build without -fopenmp")
    ap.add_argument("--no-openvino", action="store_true",
                    help="compare with ONNX Runtime only, even where openvino is installed")
    ap.add_argument("--timeout", type=int, default=3600,
                    help="seconds one (model, threads) worker may take (default 3600)")
    # internal: one measurement in a fresh process
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--onnx", help=argparse.SUPPRESS)
    ap.add_argument("--lib", help=argparse.SUPPRESS)
    ap.add_argument("--header", help=argparse.SUPPRESS)
    ap.add_argument("--base-lib", help=argparse.SUPPRESS)
    ap.add_argument("--base-header", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--openvino", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        args.threads = int(args.threads)
        worker(args)
        return 0
    return driver(args)


if __name__ == "__main__":
    sys.exit(main())
