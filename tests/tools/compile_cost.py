"""Time and peak memory of `dlc MODEL -o OUT.c` and `cc -O2 -c OUT.c`.

    compile_cost.py MODEL [--dlc build/dlc] [--cc cc] [--work DIR]
                    [--max-seconds S] [--max-mb MB]

Prints one line per step (wall seconds, peak resident MB of that process)
and the sizes involved; exits 1 when a step fails or the totals exceed the
given limits. Peak memory is the child's ru_maxrss, read with os.wait4.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time


def measure(argv):
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    return code, seconds, usage.ru_maxrss / 1024.0, err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--dlc", default="build/dlc")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    ap.add_argument("--work", default=None)
    ap.add_argument("--max-seconds", type=float, default=None)
    ap.add_argument("--max-mb", type=float, default=None)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="dlc-cost-")
    os.makedirs(work, exist_ok=True)
    out_c = os.path.join(work, "model.c")
    steps = [("dlc", [a.dlc, a.model, "-o", out_c]),
             (f"{a.cc} -O2 -c", [a.cc, "-std=c99", "-O2", "-c", out_c, "-o", out_c[:-2] + ".o"])]
    total_s, peak_mb, ok = 0.0, 0.0, True
    print(f"model {a.model}: {os.path.getsize(a.model) / 1e6:.1f} MB")
    for name, argv in steps:
        code, secs, mb, err = measure(argv)
        total_s += secs
        peak_mb = max(peak_mb, mb)
        print(f"{name:12s} {secs:7.2f} s  peak {mb:7.0f} MB  exit {code}")
        if code != 0:
            print(err[-2000:], file=sys.stderr)
            ok = False
            break
        if name == "dlc":
            print(f"{'model.c':12s} {os.path.getsize(out_c) / 1e6:7.1f} MB")
    print(f"total        {total_s:7.2f} s  peak {peak_mb:7.0f} MB")
    if a.max_seconds is not None and total_s > a.max_seconds:
        print(f"FAIL: {total_s:.1f} s is over {a.max_seconds} s")
        ok = False
    if a.max_mb is not None and peak_mb > a.max_mb:
        print(f"FAIL: {peak_mb:.0f} MB is over {a.max_mb} MB")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
