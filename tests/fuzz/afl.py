"""Build the fuzz targets with AFL++ and run each for a bounded time.

usage: python afl.py --work DIR [--seconds S] [--targets frontend passes compile]
                     [--onnx-data DIR] [--jobs N]

The same three targets as run.py (tests/fuzz/fuzz_target.c, one source at
three depths), built with afl-clang-fast, ASan and UBSan: AFL++ turns
`-fsanitize=fuzzer` into its libFuzzer-compatible driver (libAFLDriver),
which runs LLVMFuzzerTestOneInput in persistent mode, many inputs per
process. The seed corpus is run.py's (bad inputs with and without their
defects, past findings, tests/models, conformance models up to 64 KiB).
Each target runs `afl-fuzz -V S` on its own output folder WORK/out/TARGET
(a later run with the same WORK starts over from the seeds), with AFL++'s
own byte-level mutations and, beside them, the structure-aware mutator.c
as a custom mutator library (afl_mutator.c adapts it; its fallback to
libFuzzer's byte mutations flips one bit there), a 60 s limit per input (the same as
run.py's) and no memory limit (ASan reserves terabytes of address space;
ASan's allocator_may_return_null=0 with a 2 GiB RSS limit catches what
libFuzzer's -rss_limit_mb does).

A crash or hang (AFL++ saves them in WORK/out/TARGET/default/crashes and
hangs) fails the run; replay one with `WORK/build/fuzz_TARGET FILE`. Every
finding becomes a case in tests/bad_inputs (or tests/fuzz/regressions).
Prints one line per target: executions, executions/s, paths, crashes,
hangs. Exits 77 (skipped) where AFL++ is not installed (scripts/setup.sh
installs Debian's afl++ where it can).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import run  # noqa: E402  (tests/fuzz/run.py: the seed corpus)

SKIP = 77
TIMEOUT_MS = 60000


def build(build_dir, targets, jobs):
    """Configures and builds; prints the compiler's output only if it fails."""
    env = dict(os.environ, AFL_QUIET="1")
    for argv in (["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_C_COMPILER=afl-clang-fast",
                  "-DDLC_FUZZ=ON", "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
                 ["nice", "cmake", "--build", build_dir, f"-j{jobs}", "--target"]
                 + [f"fuzz_{t}" for t in targets]):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=env, check=False)
        if r.returncode != 0:
            print(r.stdout[-4000:])
            raise SystemExit(f"afl.py: {' '.join(argv[:3])} failed")


def build_mutator(build_dir):
    """mutator.c as AFL++'s custom mutator library (afl_mutator.c), linked
    with the build's generated ONNX protobuf code; plain cc, no
    instrumentation (afl-fuzz loads it)."""
    proto = os.path.join(build_dir, "proto")
    lib = os.path.join(build_dir, "afl_mutator.so")
    subprocess.run([os.environ.get("CC", "cc"), "-std=c11", "-O2", "-shared", "-fPIC",
                    "-I", proto, os.path.join(HERE, "afl_mutator.c"),
                    os.path.join(HERE, "mutator.c"), os.path.join(proto, "onnx.pb-c.c"),
                    "-lprotobuf-c", "-o", lib], check=True)
    return lib


def stats(out):
    """AFL++'s fuzzer_stats as a dict."""
    path = os.path.join(out, "default", "fuzzer_stats")
    result = {}
    if os.path.exists(path):
        for line in open(path):
            key, _, value = line.partition(":")
            result[key.strip()] = value.strip()
    return result


def findings(out, kind):
    folder = os.path.join(out, "default", kind)
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.startswith("id:"))


def run_target(exe, name, work, seeds, seconds, mutator):
    out = os.path.join(work, "out", name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    env = dict(os.environ,
               AFL_NO_UI="1", AFL_SKIP_CPUFREQ="1", AFL_NO_AFFINITY="1",
               AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES="1",   # whatever core_pattern says
               AFL_IGNORE_SEED_PROBLEMS="1",                # a seed that times out is skipped
               AFL_SKIP_CRASHES="1",
               AFL_CUSTOM_MUTATOR_LIBRARY=mutator,
               ASAN_OPTIONS="abort_on_error=1:symbolize=0:detect_leaks=1:"
                            "allocator_may_return_null=0:malloc_limit_mb=2048:"
                            "hard_rss_limit_mb=2048",
               UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1")
    log = os.path.join(work, f"afl-{name}.log")
    argv = ["nice", "-n", "10", "afl-fuzz", "-i", seeds, "-o", out, "-V", str(seconds),
            "-m", "none", "-t", str(TIMEOUT_MS), "--", exe]
    with open(log, "w") as f:
        # a session of its own: if afl-fuzz dies, its fork server goes too
        proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        rc = proc.wait()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return rc, stats(out), findings(out, "crashes"), findings(out, "hangs"), log


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", required=True)
    p.add_argument("--seconds", type=int, default=60, help="per target")
    p.add_argument("--targets", nargs="+", default=["frontend", "passes", "compile"])
    p.add_argument("--onnx-data", help="conformance data (tests/conformance/gen_data.py)")
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args()
    missing = [t for t in ("afl-clang-fast", "afl-fuzz") if not shutil.which(t)]
    if missing:
        print(f"SKIP: AFL++ is not installed (no {', '.join(missing)}; Debian: afl++)")
        return SKIP
    work = os.path.abspath(args.work)
    build_dir = os.path.join(work, "build")
    os.makedirs(work, exist_ok=True)
    build(build_dir, args.targets, args.jobs)
    mutator = build_mutator(build_dir)
    seeds = os.path.join(work, "seeds")
    print(f"seeds: {run.write_seeds(seeds, args.onnx_data)} models")
    # afl-fuzz reads one folder, without subfolders
    flat = os.path.join(work, "seeds-flat")
    shutil.rmtree(flat, ignore_errors=True)
    os.makedirs(flat)
    for dirpath, _, files in os.walk(seeds):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), seeds).replace(os.sep, "-")
            shutil.copyfile(os.path.join(dirpath, f), os.path.join(flat, rel))

    failed = 0
    for name in args.targets:
        exe = os.path.join(build_dir, f"fuzz_{name}")
        rc, st, crashes, hangs, log = run_target(exe, name, work, flat, args.seconds, mutator)
        ok = rc == 0 and st and not crashes and not hangs
        print(f"{'ok' if ok else 'FAIL'} fuzz_{name} (AFL++): {st.get('execs_done', '?')} "
              f"executions ({st.get('execs_per_sec', '?')}/s), corpus "
              f"{st.get('corpus_count', '?')}, {len(crashes)} crashes, {len(hangs)} hangs",
              flush=True)
        if not ok:
            failed += 1
            for f in (crashes + hangs)[:8]:
                print(f"    {f}")
            if rc != 0 or not st:
                tail = open(log, errors="replace").read().strip().splitlines()[-6:]
                print("    " + "\n    ".join(tail))
            print(f"    log: {log}")
    print(f"{len(args.targets) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
