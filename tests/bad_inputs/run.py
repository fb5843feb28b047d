"""Run dlc on the bad-input corpus and check that it rejects each model well.

usage: python run.py [--dlc build/dlc] [--work DIR] [--dlc-wrapper CMD]
                     [--timeout S] [--only NAME ...]

Generates the corpus (make_bad.py) into WORK/corpus, then for each case runs
    dlc CASE.onnx -o WORK/out/NAME.c
and requires: exit status exactly 1 (no signal, no hang past --timeout),
stderr that contains "error", the model's file name and every expected
substring (case-insensitive), no "internal error" or sanitizer report, and
no file written or changed anywhere under WORK (no .c, .h or .weights).
Prints `ok NAME` / `FAIL NAME: why` per case, then `N passed, M failed`;
exits 1 if any case failed, 2 if dlc cannot be run at all.

--dlc-wrapper is a command prefix, e.g. "valgrind -q --error-exitcode=99".
"""
import argparse
import os
import shlex
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import make_bad  # noqa: E402

# Text that means the compiler itself went wrong, whatever the exit status
# (AddressSanitizer, for one, exits with 1 by default).
CRASH_MARKERS = ["internal error", "Sanitizer", "runtime error:"]


def snapshot(folder):
    """Every file under folder with its size and mtime, to spot writes.
    Folders count by existence only: a temporary file made and removed
    again leaves nothing behind."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames:
            state[os.path.relpath(os.path.join(dirpath, name), folder)] = "dir"
        for name in filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            state[os.path.relpath(path, folder)] = (st.st_size, st.st_mtime_ns)
    return state


def run_dlc(argv, cwd, timeout):
    """(returncode or None on timeout, stderr text)."""
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group: wrappers fork
        _, err = proc.communicate()
        return None, err.decode(errors="replace")
    return proc.returncode, err.decode(errors="replace")


def outputs(out_c):
    """What a successful compile to out_c would write."""
    stem = out_c[:-len(".c")]
    return [out_c, stem + ".h", stem + ".weights"]


def wanted(entry):
    """An expectation entry as a list of alternatives."""
    return entry if isinstance(entry, list) else [entry]


def check_case(case, args, work):
    """Return None if dlc handled the case well, else why not."""
    model = os.path.join(work, "corpus", case["file"])
    out_c = os.path.join(work, "out", case["name"] + ".c")
    argv = args.wrapper + [args.dlc, model, "-o", out_c]
    before = snapshot(work)
    code, err = run_dlc(argv, work, args.timeout)
    after = snapshot(work)

    problems = []
    if code is None:
        problems.append(f"no exit within {args.timeout:g} s (hang?)")
    elif code < 0:
        problems.append(f"killed by {signal.Signals(-code).name}")
    elif code != 1:
        problems.append(f"exit status {code}, expected 1")
    low = err.lower()
    for marker in CRASH_MARKERS:
        if marker.lower() in low:
            problems.append(f"stderr reports {marker!r}")
    expect = ["error", os.path.basename(model)] + case["expect_substrings"]
    for entry in expect if code is not None and code >= 0 else []:
        alternatives = wanted(entry)
        if not any(a.lower() in low for a in alternatives):
            problems.append("stderr lacks " + " or ".join(map(repr,
                                                              alternatives)))
    changed = sorted(p for p in set(before) | set(after)
                     if before.get(p) != after.get(p))
    for path in outputs(out_c):  # even if it was there before
        rel = os.path.relpath(path, work)
        if os.path.lexists(path) and rel not in changed:
            changed.append(rel)
    if changed:
        problems.append("wrote " + ", ".join(changed[:5]))
    if not problems:
        return None
    lines = err.strip().splitlines()
    shown = " | ".join(lines[:3]) + (" | ..." if len(lines) > 3 else "")
    return "; ".join(problems) + f"  [stderr: {shown or 'empty'}]"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dlc", default=os.path.join(ROOT, "build", "dlc"))
    ap.add_argument("--work", default=os.path.join(ROOT, "build",
                                                   "bad_inputs"))
    ap.add_argument("--dlc-wrapper", dest="wrapper", default="",
                    type=shlex.split, help="command prefix, e.g. valgrind")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--only", nargs="+", metavar="NAME",
                    help="run just these cases")
    args = ap.parse_args()
    args.dlc = os.path.abspath(args.dlc)
    work = os.path.abspath(args.work)
    if not os.access(args.dlc, os.X_OK):
        print(f"run.py: {args.dlc} is not an executable", file=sys.stderr)
        return 2

    out_dir = os.path.join(work, "out")
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):  # leftovers of an earlier run
        path = os.path.join(out_dir, name)
        if os.path.isfile(path) or os.path.islink(path):
            os.remove(path)
    cases = make_bad.write_corpus(os.path.join(work, "corpus"))
    if args.only:
        unknown = set(args.only) - {c["name"] for c in cases}
        if unknown:
            print(f"run.py: no such case: {', '.join(sorted(unknown))}",
                  file=sys.stderr)
            return 2
        cases = [c for c in cases if c["name"] in args.only]

    passed = failed = 0
    for case in cases:
        why = check_case(case, args, work)
        if why is None:
            passed += 1
            print(f"ok {case['name']}")
        else:
            failed += 1
            print(f"FAIL {case['name']}: {why}")
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
