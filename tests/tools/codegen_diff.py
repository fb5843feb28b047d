"""Compile the same models with two dlc binaries and compare what they write.

usage: python codegen_diff.py --base OLD_DLC --new NEW_DLC --work DIR
                              [--flags="--blas openblas" ...] MODEL_OR_DIR ...

For a restructuring that must not change the compiler's results: every
.onnx file named (or found under a folder named) is compiled by both
binaries with each flag set (always the plain one too) into the same
folder, one after the other, so that the command lines they record are
the same; the exit status, the diagnostics and the bytes of model.c /
model.h / the weights file must be equal. Prints one line per difference and a summary; exit 1 when any.
Identical generated C means identical outputs and identical speed for
every model compared.
"""
import argparse
import os
import shlex
import subprocess
import sys


def models(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in sorted(os.walk(p)):
                for f in sorted(files):
                    if f.endswith(".onnx"):
                        yield os.path.join(root, f)
        else:
            yield p


def compile_one(dlc, model, out_dir, flags):
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        os.remove(os.path.join(out_dir, f))
    cmd = [dlc, model, "-o", os.path.join(out_dir, "model.c"), "--name", "m"] + flags
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    files = {}
    for f in sorted(os.listdir(out_dir)):
        with open(os.path.join(out_dir, f), "rb") as fh:
            files[f] = fh.read()
    return p.returncode, p.stderr, files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--flags", action="append", default=[],
                    help="an extra flag set to compile every model with")
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    flag_sets = [[]] + [shlex.split(f) for f in a.flags]
    same = differ = compiled = 0
    for model in models(a.paths):
        for flags in flag_sets:
            out = os.path.join(a.work, "out")
            rb, eb, fb = compile_one(a.base, model, out, flags)
            rn, en, fn = compile_one(a.new, model, out, flags)
            what = []
            if rb != rn:
                what.append(f"exit {rb} -> {rn}")
            if eb != en:
                what.append("diagnostics")
            if set(fb) != set(fn):
                what.append(f"files {sorted(fb)} -> {sorted(fn)}")
            what += [f"{f} differs" for f in sorted(set(fb) & set(fn)) if fb[f] != fn[f]]
            tag = " ".join(flags) or "(default)"
            if what:
                differ += 1
                print(f"DIFF {model} {tag}: {', '.join(what)}")
            else:
                same += 1
                compiled += rb == 0
    print(f"codegen_diff: {same} identical ({compiled} compiled), {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
