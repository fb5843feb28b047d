"""dlc as an installed package: find_package(dlc), dlc_add_model, pkg-config.

usage: python run.py --dlc build/dlc --work DIR --build BUILD_DIR

Installs the build (`cmake --install BUILD --prefix DIR/prefix`), then
builds tests/package/consumer, a project outside the tree as a user would
write it (find_package(dlc), dlc_add_model, an app that runs the model on
raw files), against that prefix, and checks:
  - embed: the app's outputs match ONNX Runtime's on seeded inputs
    (rtol 1e-4, atol 1e-5) for a small conv net;
  - the model file changes (weights scaled, same path): the next build runs
    dlc again and the outputs match the new model's, not the old one's;
    a build with nothing changed does not run dlc;
  - WEIGHTS file: the same with the weights in net.weights, loaded by the
    app from the target's DLC_WEIGHTS_FILE path; WEIGHTS incbin: the same
    with net.weights assembled into the library;
  - SHAPES and THREADS: a model with a symbolic batch dim bound by x=4x64,
    built with OpenMP;
  - a bad WEIGHTS value fails at configure time with its message;
  - pkg-config: `pkg-config --variable=dlc dlc` runs the installed dlc,
    `--libs` gives -lm.
Prints PASS/FAIL per check; exit status 1 if any failed.
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "models"))
import make_models  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5


def sh(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def ort_outputs(path, feeds):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


class Consumer:
    """One build folder of tests/package/consumer."""

    def __init__(self, work, prefix, tag, model, weights="embed", shapes="", threads="OFF"):
        self.dir = os.path.join(work, "build-" + tag)
        self.model = model
        shutil.rmtree(self.dir, ignore_errors=True)
        self.configure = sh(["cmake", "-S", os.path.join(HERE, "consumer"), "-B", self.dir,
                             f"-DCMAKE_PREFIX_PATH={prefix}", f"-DMODEL={model}",
                             f"-DWEIGHTS={weights}", f"-DSHAPES={shapes}",
                             f"-DTHREADS={threads}"])

    def build(self):
        r = sh(["cmake", "--build", self.dir, "--", "VERBOSE=1"])
        return r.returncode == 0, r.stdout + r.stderr

    def run(self, feeds):
        """The app's outputs on feeds, or None."""
        m = onnx.load(self.model)
        ins, outs = [], []
        for i, inp in enumerate(x for x in m.graph.input
                                if x.name not in {t.name for t in m.graph.initializer}):
            path = os.path.join(self.dir, f"in{i}.bin")
            feeds[inp.name].tofile(path)
            ins.append(path)
        for i in range(len(m.graph.output)):
            outs.append(os.path.join(self.dir, f"out{i}.bin"))
        r = sh([os.path.join(self.dir, "app"), *ins, *outs])
        if r.returncode != 0:
            print(r.stderr.strip())
            return None
        return [np.fromfile(p, np.float32) for p in outs]


def matches(got, want):
    return got is not None and all(
        g.size == w.size and np.allclose(g, w.ravel(), rtol=RTOL, atol=ATOL)
        for g, w in zip(got, want))


def report(ok, what):
    print(f"{'PASS' if ok else 'FAIL'} {what}", flush=True)
    return ok


def reweighted(src, dst):
    """src with every float initializer scaled by 1.25 (batch-norm variances
    stay positive), saved as dst."""
    m = onnx.load(src)
    for t in m.graph.initializer:
        a = numpy_helper.to_array(t)
        if a.dtype == np.float32:
            t.CopyFrom(numpy_helper.from_array(a * np.float32(1.25), t.name))
    onnx.save(m, dst)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--build", required=True, help="dlc's build folder, to install")
    args = p.parse_args()
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    prefix = os.path.join(work, "prefix")
    shutil.rmtree(prefix, ignore_errors=True)
    oks = []
    r = sh(["cmake", "--install", args.build, "--prefix", prefix])
    if not report(r.returncode == 0, f"cmake --install into {prefix}"):
        print(r.stdout + r.stderr)
        return 1
    models = make_models.make_models(os.path.join(work, "models"))
    rng = np.random.default_rng(0)
    inp = onnx.load(models["mobilenet"]).graph.input[0]
    x = rng.uniform(-1, 1, [d.dim_value for d in inp.type.tensor_type.shape.dim]) \
        .astype(np.float32)

    for weights in ("embed", "file", "incbin"):
        model = os.path.join(work, f"mobilenet_{weights}.onnx")
        shutil.copy(models["mobilenet"], model)
        name = inp.name
        c = Consumer(work, prefix, weights, model, weights)
        built, log = c.build()
        oks.append(report(c.configure.returncode == 0 and built,
                          f"{weights}: configure and build the consumer"))
        if not built:
            print(c.configure.stderr[-2000:] + log[-2000:])
            continue
        first = ort_outputs(model, {name: x})
        got = c.run({name: x})
        oks.append(report(matches(got, first), f"{weights}: app outputs match ONNX Runtime"))
        reweighted(models["mobilenet"], model)
        built, log = c.build()
        second = ort_outputs(model, {name: x})
        got = c.run({name: x})
        oks.append(report(built and "dlc: " in log and matches(got, second)
                          and not matches(got, first),
                          f"{weights}: a changed model is recompiled and its outputs match"))
        built, log = c.build()
        oks.append(report(built and "dlc: " not in log,
                          f"{weights}: an unchanged model is not recompiled"))

    c = Consumer(work, prefix, "shapes", models["mlp"], shapes="x=4x64", threads="ON")
    built, log = c.build()
    oks.append(report(built and "fopenmp" in log, "THREADS: the library builds with OpenMP"))
    xm = rng.uniform(-1, 1, (4, 64)).astype(np.float32)
    oks.append(report(built and matches(c.run({"x": xm}), ort_outputs(models["mlp"], {"x": xm})),
                      "SHAPES x=4x64: built, outputs match ONNX Runtime"))

    c = Consumer(work, prefix, "bad", models["mlp"], weights="bogus")
    oks.append(report(c.configure.returncode != 0 and "WEIGHTS is embed, file or incbin"
                      in c.configure.stderr, "WEIGHTS bogus: configure fails with its message"))

    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
    tool = sh(["pkg-config", "--variable=dlc", "dlc"], env=env).stdout.strip()
    libs = sh(["pkg-config", "--libs", "dlc"], env=env).stdout.split()
    ran = bool(tool) and sh([tool, "--version"]).stdout.startswith("dlc ")
    oks.append(report(ran and "-lm" in libs and os.path.realpath(tool).startswith(
        os.path.realpath(prefix)), f"pkg-config: dlc is {tool}, libs {' '.join(libs)}"))

    print(f"{sum(oks)} passed, {len(oks) - sum(oks)} failed")
    return 0 if all(oks) else 1


if __name__ == "__main__":
    sys.exit(main())
