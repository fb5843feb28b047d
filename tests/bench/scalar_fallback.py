"""No hot kernel may run as a scalar loop.

usage: python scalar_fallback.py --dlc build/dlc --work DIR [--models NAME ...]
                                 [--max-share 0.05]

For each model (the benchmark networks bench/models/make.py writes without
torch, the exported networks in tests/models/shipped, and the pretrained
files of requirements-pretrained.txt where installed):

  1. `dlc bench MODEL --profile --json --keep DIR` times each kernel on the
     host's flags (cc -O3 -march=native) and keeps the profiled model.c;
  2. model.c is compiled again with gcc's vectoriser report
     (-fopt-info-vec-optimized); kernel i is the code between the profile
     laps i - 1 and i of the run function;
  3. a kernel made of loops (the loop IR's elementwise, reduction and data
     movement kernels; the runtime's calls are vectorised by hand) none of
     which gcc vectorised runs scalar.

The test fails when a scalar kernel takes more than --max-share (5 %) of a
model's profiled time, and prints every scalar kernel above 0.5 %.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SITE = os.path.join(sys.prefix, "lib", f"python{sys.version_info.major}.{sys.version_info.minor}",
                    "site-packages")

# name -> (model path or bench model name, extra dlc flags)
SHIPPED = {f"shipped/{n}": (os.path.join(ROOT, "tests", "models", "shipped", f"{n}.onnx"), flags)
           for n, flags in (("yolo", ["--shape", "images=1x3x320x320"]),
                            ("dbnet", ["--shape", "x=1x3x320x320"]),
                            ("crnn", ["--shape", "x=1x3x32x320"]), ("vad", []), ("gru", []))}
# run-time dims: compiled for a range, run inside it (the masks, the
# spreading and packing of inputs and outputs are kernels too)
SHIPPED.update({
    "shipped/crnn@width": (SHIPPED["shipped/crnn"][0],
                           ["--shape", "x=1x3x32x32..512", "--dim", "width=200"]),
    "shipped/encoder@tokens": (os.path.join(ROOT, "tests", "models", "shipped", "encoder.onnx"),
                               ["--shape", "ids=1x1..128", "--shape", "mask=1x1..128",
                                "--dim", "tokens=100"]),
})
BENCH = {f"bench/{n}": (n, []) for n in ("mobilenetv2", "squeezenet1_1", "yolov8n_320", "crnn")}
PRETRAINED = {
    "magika": (os.path.join(SITE, "magika", "models", "standard_v3_3", "model.onnx"),
               ["--shape", "bytes=1x2048"]),
    "ppocr_rec": (os.path.join(SITE, "rapidocr_onnxruntime", "models",
                               "ch_PP-OCRv4_rec_infer.onnx"), ["--shape", "x=1x3x48x320"]),
    "ppocr_det": (os.path.join(SITE, "rapidocr_onnxruntime", "models",
                               "ch_PP-OCRv4_det_infer.onnx"), ["--shape", "x=1x3x320x320"]),
}


def bench_model(name, work):
    """bench/models/make.py writes it (no torch needed for these)."""
    path = os.path.join(work, f"{name}.onnx")
    if not os.path.exists(path):
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "models", "make.py"), work,
                        "--only", name], check=True, capture_output=True)
    return path


def kernel_lines(model_c):
    """{kernel index: (first line, last line)} of the run function."""
    spans, start = {}, None
    with open(model_c) as f:
        for no, line in enumerate(f, 1):
            if re.search(r"_profile_now\(\);", line) and "prof =" in line and start is None:
                start = no
            m = re.search(r"prof = \w+_profile_lap\(prof, (\d+)\);", line)
            if m and start is not None:
                spans[int(m.group(1))] = (start, no)
                start = no
    return spans


def scalar_kernels(model_c, cc):
    """Indices of the kernels with loops, none vectorised."""
    report = model_c + ".vec.txt"
    subprocess.run([cc, "-O3", "-march=native", "-std=c99", "-c", model_c, "-o", os.devnull,
                    f"-fopt-info-vec-optimized={report}"], check=True)
    vectorised = set()
    with open(report) as f:
        for line in f:
            m = re.match(r".*model\.c:(\d+):\d+: optimized: (basic block|loop) vectorized", line)
            if m:
                vectorised.add(int(m.group(1)))
    with open(model_c) as f:
        text = f.read().split("\n")
    scalar = set()
    for k, (a, b) in kernel_lines(model_c).items():
        loops = [i for i in range(a, b + 1) if re.match(r"\s*for \(int64_t v\d+ = 0;", text[i - 1])]
        if loops and not any(lo in vectorised for lo in range(a, b + 1)):
            scalar.add(k)
    return scalar


def check(dlc, name, path, flags, work, max_share):
    keep = os.path.join(work, name.replace("/", "_"))
    p = subprocess.run([dlc, "bench", path, "--profile", "--json", "--runs", "5", "--warmup", "1",
                        "--keep", keep] + flags, capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        print(f"FAIL {name}: dlc bench exited {p.returncode}\n{p.stderr[-2000:]}")
        return False
    kernels = json.loads(p.stdout)["profile"]["kernels"]
    scalar = scalar_kernels(os.path.join(keep, "model.c"), os.environ.get("CC", "gcc"))
    hot = [k for k in kernels if k["index"] in scalar and k["share"] > 0.005]
    worst = max((k["share"] for k in hot), default=0.0)
    ok = worst <= max_share
    print(f"{'PASS' if ok else 'FAIL'} {name}: {len(kernels)} kernels, {len(scalar)} scalar, "
          f"the largest scalar one {100 * worst:.1f} % of the time (limit {100 * max_share:.0f} %)")
    for k in sorted(hot, key=lambda k: -k["share"]):
        print(f"    {100 * k['share']:5.1f} %  {k['ms']:.4f} ms  {k['ops'][:60]}  {k['names'][:80]}")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", nargs="*")
    ap.add_argument("--max-share", type=float, default=0.05)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    models = dict(SHIPPED)
    models.update(BENCH)
    models.update({n: v for n, v in PRETRAINED.items() if os.path.exists(v[0])})
    missing = sorted(set(PRETRAINED) - set(models))
    if missing:
        print(f"note: not installed, not checked: {', '.join(missing)} (scripts/setup.sh "
              "installs requirements-pretrained.txt)")
    if args.models:
        models = {n: v for n, v in models.items() if n in args.models}
    failed = 0
    for name, (path, flags) in models.items():
        if name.startswith("bench/"):
            path = bench_model(path, args.work)
        failed += not check(args.dlc, name, path, flags, args.work, args.max_share)
    print(f"{len(models) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
