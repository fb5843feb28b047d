"""Compile whole models with dlc and compare them with ONNX Runtime.

usage: python run.py --dlc build/dlc --work DIR [--timeout S] [--only NAME ...]
                     [--blas builtin|openblas]

The models are the project's own (make_models.py: resnet, mobilenet, mlp,
attention) and the light model-zoo networks the onnx package ships
(onnx/backend/test/data/light/*.onnx: AlexNet, VGG19, ResNet-50, ...).
For each, make_dataset.py writes seeded random inputs and ONNX Runtime's
outputs under DIR/data/NAME, then

    dlc check MODEL DIR/data/NAME/test_data_set_0

compares dlc's generated code with them. Prints `PASS NAME max_abs=..
max_rel=..` or `FAIL NAME: why` per model, then `N passed, M failed`, and
exits 1 if any failed.

--blas openblas compiles with `dlc --blas openblas` (float MatMul/Gemm on
OpenBLAS's cblas_sgemm) under the same tolerances, and also fails a model
with a MatMul or Gemm whose generated code does not call OpenBLAS.

The light models hold every weight as a ConstantOfShape node filled with
0.02, so their outputs say little about numerics (the softmax of most is
exactly uniform, 0.001 per class, whatever the input); they test that whole networks compile and run. The
project's models, with random weights, are the numeric test.
"""
import argparse
import glob
import os
import re
import signal
import subprocess
import sys

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import make_dataset  # noqa: E402
import make_models  # noqa: E402

# Input shapes for models with symbolic dims, as --shape bindings.
SHAPES = {"mlp": [("x", [4, 64])]}
# The light networks are deep ImageNet models at 224x224 whose reductions
# run to thousands of terms (VGG19's first Gemm sums 25088 products), so
# float32 results legitimately drift from ONNX Runtime's more than the
# default tolerances allow.
LIGHT_TOLERANCE = ["--rtol", "1e-3", "--atol", "1e-4"]


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal has no name
        return f"signal {number}"

def light_models():
    folder = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    return sorted(glob.glob(os.path.join(folder, "*.onnx")))


def check(dlc, model, dataset, extra, timeout):
    """(ok, summary) of `dlc check` on one model."""
    argv = [dlc, "check", model, dataset, *extra]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # dlc, the C compiler, the test program
        proc.communicate()
        return False, f"timeout after {timeout:g}s"
    abs_errs = [float(x) for x in re.findall(r"max_abs=(\S+)", out)]
    rel_errs = [float(x) for x in re.findall(r"max_rel=(\S+)", out)]
    errors = f"max_abs={max(abs_errs):.3g} max_rel={max(rel_errs):.3g}" if abs_errs else ""
    if proc.returncode == 0:
        return True, errors
    if proc.returncode < 0:
        return False, f"killed by {signal_name(-proc.returncode)}"
    err = err.replace(os.path.dirname(model) + os.sep, "")  # the name says enough
    lines = [l for l in err.splitlines() if "error" in l] or err.strip().splitlines()[-1:]
    why = lines[0] if lines else f"exit {proc.returncode}"
    if "MISMATCH" in out:
        why = "MISMATCH " + errors
    return False, why


def run_case(dlc, name, model, dataset, flags, timeout):
    """`dlc check` of one case, printed as PASS/FAIL NAME [errors | why]."""
    ok, why = check(dlc, model, dataset, flags, timeout)
    print(f"{'PASS' if ok else 'FAIL'} {name}{' ' + why if why else ''}", flush=True)
    return ok


def dlc_work_args(doc):
    """--dlc and --work, the arguments of a model test script."""
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--work", required=True)
    return p.parse_args()


def run_built(dlc, work, cases, flags, timeout=300):
    """Writes each (name, model, feeds) of cases under work/NAME with ONNX
    Runtime's outputs as its data set, checks it with `dlc check ...
    flags`; returns the list of pass/fail."""
    oks = []
    for name, model, feeds in cases:
        folder = os.path.join(work, name)
        data = os.path.join(folder, "test_data_set_0")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "model.onnx")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        make_dataset.ort_set(path, data, feeds)
        oks.append(run_case(dlc, name, path, data, flags, timeout))
    return oks


def tally(oks):
    """Prints `N passed, M failed`; the exit status (1 if any failed)."""
    print(f"{sum(oks)} passed, {len(oks) - sum(oks)} failed")
    return 0 if all(oks) else 1


def has_product(path):
    """Does the model hold a MatMul or Gemm node (at the top level)?"""
    graph = onnx.load(path, load_external_data=False).graph
    return any(n.op_type in ("MatMul", "Gemm") for n in graph.node)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--work", required=True, help="folder for models and data sets")
    p.add_argument("--timeout", type=float, default=600, help="seconds per model")
    p.add_argument("--only", nargs="+", metavar="NAME", help="run just these models")
    p.add_argument("--blas", choices=["builtin", "openblas"],
                   help="dlc's GEMM backend (dlc --blas; default: dlc's default)")
    args = p.parse_args()
    if not (os.path.isfile(args.dlc) and os.access(args.dlc, os.X_OK)):
        sys.exit(f"run.py: cannot run dlc at '{args.dlc}'")
    dlc = os.path.abspath(args.dlc)

    models = []  # (name, path, --shape bindings, extra dlc check options)
    for name, path in make_models.make_models(os.path.join(args.work, "models")).items():
        bindings = SHAPES.get(name, [])
        shape_opts = []
        for input_name, shape in bindings:
            shape_opts += ["--shape", f"{input_name}={'x'.join(map(str, shape))}"]
        models.append((name, path, bindings, shape_opts))
    for path in light_models():
        models.append((os.path.basename(path)[:-len(".onnx")], path, [], LIGHT_TOLERANCE))
    if args.only:
        unknown = set(args.only) - {m[0] for m in models}
        if unknown:
            sys.exit(f"run.py: no model named {', '.join(sorted(unknown))}")
        models = [m for m in models if m[0] in args.only]

    passed = failed = 0
    for name, path, bindings, extra in models:
        folder = os.path.join(args.work, "data", name)
        dataset = make_dataset.make_dataset(path, folder, seed=0, shapes=bindings)[0]
        keep = os.path.join(args.work, "keep", name)
        blas = ["--blas", args.blas, "--keep", keep] if args.blas else []
        os.makedirs(keep, exist_ok=True)
        ok, summary = check(dlc, path, dataset, extra + blas, args.timeout)
        if ok and args.blas == "openblas" and has_product(path):
            with open(os.path.join(keep, "model.c")) as f:
                if "rt_blas_sgemm" not in f.read():
                    ok, summary = False, "--blas openblas: no OpenBLAS call in the generated code"
        print(f"PASS {name} {summary}" if ok else f"FAIL {name}: {summary}", flush=True)
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
