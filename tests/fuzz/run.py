"""Build the libFuzzer targets and run each for a bounded time.

usage: python run.py --work DIR [--seconds S] [--targets frontend passes compile]
                     [--onnx-data DIR] [--build DIR] [--jobs N] [--seed N]

Steps:
  1. Checks that clang can link a libFuzzer program; if not, prints why and
     exits 77 (ctest reports the test as skipped).
  2. Configures and builds WORK/build with clang and -DDLC_FUZZ=ON
     (ASan + UBSan + coverage), targets fuzz_frontend, fuzz_passes and
     fuzz_compile (tests/fuzz/fuzz_target.c, tests/fuzz/mutator.c).
  3. Writes the seed corpus to WORK/seeds: the bad-input corpus as shipped
     and with its defects removed (tests/bad_inputs), tests/fuzz/regressions
     (past findings that dlc compiles now), tests/models's own models, and
     the conformance models of --onnx-data (those up to 64 KiB). libFuzzer
     runs every seed first, so a regression fails at once.
  4. Runs each target for S seconds on WORK/corpus/TARGET (kept between
     runs, so a long run continues where it stopped) plus the seeds, with
     per-input limits: 60 s, 2 GiB RSS, 2 GiB in one malloc.

A crash, sanitizer report, leak, timeout or out-of-memory stops a target; its
input is saved as WORK/artifacts/TARGET-crash-HASH (or -timeout-, -oom-,
-leak-) and the run fails. A timeout is first replayed alone with a 300 s
limit: on a loaded machine a legitimate input can pass 60 s, so one that
then finishes is reported as slow (the target stops there) and does not
fail the run; a hang still does. Reproduce with `WORK/build/fuzz_TARGET FILE`;
every finding becomes a case in tests/bad_inputs.
Prints one line per target: executions, executions/s, peak RSS, corpus size.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SKIP = 77
MAX_SEED_BYTES = 64 << 10
MAX_LEN = 256 << 10
# An input over libFuzzer's 60 s limit is replayed alone with this one.
REPLAY_SECONDS = 300


def libfuzzer_works(cc):
    """(ok, why not): can cc build and link a trivial libFuzzer target?"""
    if not shutil.which(cc):
        return False, f"no {cc} on PATH"
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "t.c")
        with open(src, "w") as f:
            f.write("#include <stddef.h>\n#include <stdint.h>\n"
                    "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)"
                    "{ (void)d; (void)n; return 0; }\n")
        r = subprocess.run([cc, "-fsanitize=fuzzer,address", src, "-o", os.path.join(tmp, "t")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return False, (f"{cc} cannot link libFuzzer (Debian: libclang-rt-14-dev): "
                           + (r.stderr.strip().splitlines() or ["?"])[-1])
    return True, ""


def build(cc, build_dir, targets, jobs):
    subprocess.run(["cmake", "-S", ROOT, "-B", build_dir, f"-DCMAKE_C_COMPILER={cc}",
                    "-DDLC_FUZZ=ON", "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["nice", "cmake", "--build", build_dir, f"-j{jobs}", "--target"]
                   + [f"fuzz_{t}" for t in targets], check=True, stdout=subprocess.DEVNULL)


def write_seeds(seeds, onnx_data):
    """The seed corpus; returns the number of files."""
    if os.path.isdir(seeds):
        shutil.rmtree(seeds)
    sys.path.insert(0, os.path.join(ROOT, "tests", "bad_inputs"))
    import make_bad  # pylint: disable=import-outside-toplevel
    make_bad.write_corpus(os.path.join(seeds, "bad"), bad=True)
    make_bad.write_corpus(os.path.join(seeds, "good"), bad=False)
    # findings that dlc now compiles (the refused ones are bad_inputs cases)
    shutil.copytree(os.path.join(HERE, "regressions"), os.path.join(seeds, "regressions"))
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "models", "make_models.py"),
                    os.path.join(seeds, "models")], check=True, stdout=subprocess.DEVNULL)
    if onnx_data and os.path.isdir(onnx_data):
        out = os.path.join(seeds, "conformance")
        os.makedirs(out, exist_ok=True)
        for kind in sorted(os.listdir(onnx_data)):
            folder = os.path.join(onnx_data, kind)
            if not os.path.isdir(folder):
                continue
            for case in sorted(os.listdir(folder)):
                model = os.path.join(folder, case, "model.onnx")
                if os.path.isfile(model) and os.path.getsize(model) <= MAX_SEED_BYTES:
                    shutil.copyfile(model, os.path.join(out, f"{kind}-{case}.onnx"))
    # only models: libFuzzer reads every file under the folder
    count = 0
    for dirpath, _, files in os.walk(seeds):
        for name in files:
            path = os.path.join(dirpath, name)
            if not name.endswith(".onnx") or os.path.getsize(path) > MAX_LEN:
                os.remove(path)
            else:
                count += 1
    return count


def run_target(exe, name, work, seeds, seconds, seed):
    """Runs one target; returns (ok, stats dict, log path)."""
    corpus = os.path.join(work, "corpus", name)
    artifacts = os.path.join(work, "artifacts")
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    for old in os.listdir(artifacts):  # an earlier run's findings
        if old.startswith(name + "-"):
            os.remove(os.path.join(artifacts, old))
    log = os.path.join(work, f"{name}.log")
    argv = ["nice", "-n", "10", exe, f"-max_total_time={seconds}", "-timeout=60",
            "-rss_limit_mb=2048", "-malloc_limit_mb=2048", f"-max_len={MAX_LEN}",
            "-print_final_stats=1", f"-seed={seed}", f"-artifact_prefix={artifacts}/{name}-",
            corpus, seeds]
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    with open(log, "w") as f:
        r = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, env=env, check=False)
    text = open(log, errors="replace").read()
    stats = dict(re.findall(r"stat::(\w+):\s+(\d+)", text))
    ok = r.returncode == 0
    timeouts = [os.path.join(artifacts, a) for a in os.listdir(artifacts)
                if a.startswith(f"{name}-timeout-")]
    if not ok and "ERROR: libFuzzer: timeout" in text and timeouts:
        ok = slow_not_hung(exe, timeouts[0], env, log)
    return ok, stats, log


def slow_not_hung(exe, path, env, log):
    """A 60 s timeout on a loaded machine may be a slow input, not a hang:
    replays it alone with REPLAY_SECONDS. True (with a note in the log and
    on stdout) when it finishes; a real hang does not."""
    argv = ["nice", "-n", "10", exe, f"-timeout={REPLAY_SECONDS}", "-rss_limit_mb=2048",
            "-malloc_limit_mb=2048", path]
    start = time.monotonic()
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                       check=False)
    took = time.monotonic() - start
    with open(log, "a") as f:
        f.write(f"\nreplay of {path}: exit {r.returncode} after {took:.0f} s\n")
    if r.returncode != 0:
        return False
    print(f"    note: {os.path.basename(path)} timed out under load but runs alone in "
          f"{took:.0f} s (under {REPLAY_SECONDS} s): slow, not hung; kept in artifacts/")
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", required=True)
    p.add_argument("--seconds", type=int, default=45, help="per target")
    p.add_argument("--targets", nargs="+", default=["frontend", "passes", "compile"])
    p.add_argument("--onnx-data", help="conformance data (tests/conformance/gen_data.py)")
    p.add_argument("--build", help="build folder (default WORK/build)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--cc", default=os.environ.get("FUZZ_CC", "clang"))
    p.add_argument("--seed", type=int, default=0,
                   help="libFuzzer's -seed: 0 picks one; ctest passes 1, so a CI run is repeatable")
    args = p.parse_args()

    ok, why = libfuzzer_works(args.cc)
    if not ok:
        print(f"SKIP: fuzz targets not built: {why}")
        return SKIP
    work = os.path.abspath(args.work)
    build_dir = os.path.abspath(args.build or os.path.join(work, "build"))
    os.makedirs(work, exist_ok=True)
    build(args.cc, build_dir, args.targets, args.jobs)
    seeds = os.path.join(work, "seeds")
    print(f"seeds: {write_seeds(seeds, args.onnx_data)} models")

    failed = 0
    for name in args.targets:
        exe = os.path.join(build_dir, f"fuzz_{name}")
        ok, st, log = run_target(exe, name, work, seeds, args.seconds, args.seed)
        execs, rate = int(st.get("number_of_executed_units", 0)), int(st.get("average_exec_per_sec", 0))
        corpus = len(os.listdir(os.path.join(work, "corpus", name)))
        print(f"{'ok' if ok else 'FAIL'} fuzz_{name}: {execs} executions ({rate}/s), "
              f"peak RSS {st.get('peak_rss_mb', '?')} MB, corpus {corpus}", flush=True)
        if not ok:
            failed += 1
            found = [ln for ln in open(log, errors="replace")
                     if "ERROR:" in ln or "SUMMARY:" in ln or "Test unit written" in ln
                     or "runtime error" in ln or "internal error" in ln]
            for ln in found[:8]:
                print("    " + ln.rstrip())
            print(f"    log: {log}")
    print(f"{len(args.targets) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
