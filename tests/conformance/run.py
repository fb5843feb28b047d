"""Run the ONNX backend test cases through `dlc check` and report.

usage: python run.py --dlc build/dlc --data OUTDIR --report DIR
                     [--jobs N] [--filter REGEX] [--kinds node,simple,...]
                     [--passing tests/conformance/passing.txt]
                     [--check-regressions] [--write-passing] [--timeout S]

OUTDIR is what gen_data.py writes. Each case runs as
    dlc check CASE/model.onnx CASE/test_data_set_* --rtol 1e-3 --atol 1e-7
(the tolerances ONNX's own backend runner uses) and is classified:

    passed        exit 0
    passed (frozen inputs)
                  refused because a shape-setting value depends on graph
                  inputs, then passed with those inputs bound by
                  `--freeze NAME=input_N.pb` from test_data_set_0 (the
                  reason and report.json's "frozen" name them)
    failed        exit 1 with a MISMATCH or `check: FAIL` on stdout
    unsupported   exit 1 whose first error line says "unsupported", or a
                  case gen_data.py skipped (listed in OUTDIR/skipped.txt)
    dlc error     anything else: another error, exit 3, a signal, a timeout,
                  an internal error

Writes DIR/report.json and DIR/summary.txt and prints the totals.
--write-passing updates the passing list with this run: the cases run
(after --kinds and --filter) get their entry from this run, the others keep
theirs; a case that passed with frozen inputs is listed as
`kind/name (frozen inputs)`. --check-regressions exits 1 if a listed case within the run's
--kinds and --filter did not pass (or is missing from the data), and ends
with `regressions: N passed, M failed` counted over those listed cases.
Exit 2: the run could not start (no dlc, no data, no passing list).
"""
import argparse
import concurrent.futures
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = ["node", "simple", "pytorch-converted", "pytorch-operator"]
STATUSES = ["passed", "passed (frozen inputs)", "failed", "unsupported", "dlc error"]
FROZEN_SUFFIX = " (frozen inputs)"     # on passing-list entries
# How dlc says which graph inputs to bind (ops/helpers.c op_dynamic_input).
FREEZE_HINT = re.compile(r"--freeze (\S+?)=FILE\.pb")
# ONNX's backend runner compares with these.
TOLERANCE = ["--rtol", "1e-3", "--atol", "1e-7"]
# Text that means dlc or the code it wrote went wrong, whatever the exit
# status (AddressSanitizer exits 1 by default).
CRASH_MARKERS = ["internal error", "Sanitizer", "runtime error:"]


def find_cases(data, kinds, pattern):
    """[(kind, name)] of every case folder under data, filtered."""
    cases = []
    for kind in kinds:
        folder = os.path.join(data, kind)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if os.path.exists(os.path.join(folder, name, "model.onnx")) and \
                    pattern.search(f"{kind}/{name}"):
                cases.append((kind, name))
    return cases


def read_skipped(data):
    """{"kind/name": reason} from gen_data.py's skipped.txt."""
    skipped = {}
    path = os.path.join(data, "skipped.txt")
    if os.path.exists(path):
        for line in open(path):
            case, _, reason = line.rstrip("\n").partition(": ")
            if case:
                skipped[case] = reason
    return skipped


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal has no name
        return f"signal {number}"

def one_line(text, limit=300):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def classify(returncode, out, err):
    """(status, reason) for a finished `dlc check`."""
    errors = [line for line in err.splitlines() if "dlc: error:" in line]
    first_error = errors[0] if errors else ""
    for line in (out + "\n" + err).splitlines():
        if any(marker in line for marker in CRASH_MARKERS):
            return "dlc error", one_line(line)
    if returncode == 0:
        return "passed", ""
    if returncode < 0:
        return "dlc error", f"killed by {signal_name(-returncode)}"
    if returncode == 1:
        mismatch = [l for l in out.splitlines() if "MISMATCH" in l]
        if mismatch:
            return "failed", one_line(mismatch[0])
        # dlc check ends with `check: FAIL` after a compile error too, so
        # the error line decides first.
        if "unsupported" in first_error:
            return "unsupported", one_line(first_error)
        if "check: FAIL" in out and not first_error:
            return "failed", "check: FAIL"
    tail = err.strip().splitlines()[-1:] or ["no message"]
    return "dlc error", one_line(f"exit {returncode}: {first_error or tail[0]}")


def check_once(dlc, folder, sets, freeze_args, timeout):
    """(status, reason) of one `dlc check` of the case."""
    argv = [dlc, "check", os.path.join(folder, "model.onnx"), *sets, *TOLERANCE, *freeze_args]
    # A new session, so a timeout can kill dlc with the compiler and the
    # test program it started.
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        # The case's folder is in the report already; drop it from messages.
        out, err = (t.decode(errors="replace").replace(folder + os.sep, "") for t in (out, err))
        status, reason = classify(proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        status, reason = "dlc error", f"timeout after {timeout:g}s"
    return status, reason


def graph_input_names(model_path):
    """The inputs a data set's input_N.pb number: graph inputs that are not
    initializers, in order."""
    import onnx
    g = onnx.load(model_path, load_external_data=False).graph
    inits = {t.name for t in g.initializer}
    return [i.name for i in g.input if i.name not in inits]


def run_case(dlc, data, kind, name, timeout):
    folder = os.path.join(data, kind, name)
    sets = sorted(glob.glob(os.path.join(folder, "test_data_set_*")))
    start = time.monotonic()
    status, reason = check_once(dlc, folder, sets, [], timeout)
    # A shape-setting value computed from graph inputs: bind exactly the
    # inputs dlc names to the case's own values and try again (a rerun may
    # name more, e.g. Range's limit once its start is bound).
    frozen, refusal = [], (status, reason)
    while status == "unsupported" and FREEZE_HINT.search(reason) and sets and len(frozen) < 8:
        names = graph_input_names(os.path.join(folder, "model.onnx"))
        new = [n for n in FREEZE_HINT.findall(reason) if n in names and n not in frozen]
        if not new:
            break
        frozen += new
        freeze_args = [a for n in frozen for a in
                       ("--freeze", f"{n}={os.path.join(sets[0], f'input_{names.index(n)}.pb')}")]
        status, reason = check_once(dlc, folder, sets, freeze_args, timeout)
        if "differs from the value --freeze gave" in reason:
            frozen, (status, reason) = [], refusal   # the data sets vary it: a run-time value
            break
    if frozen and status == "passed":
        status, reason = "passed (frozen inputs)", "frozen: " + ", ".join(frozen)
    elif frozen:
        reason = f"with --freeze {', '.join(frozen)}: {reason}"
    result = {"kind": kind, "name": name, "status": status, "reason": reason,
              "seconds": round(time.monotonic() - start, 2)}
    if frozen:
        result["frozen"] = frozen
    return result


def run_all(args, cases, skipped):
    results = []
    todo = []
    for kind, name in cases:
        reason = skipped.get(f"{kind}/{name}")
        if reason is not None:
            results.append({"kind": kind, "name": name, "status": "unsupported",
                            "reason": reason, "seconds": 0.0})
        else:
            todo.append((kind, name))
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_case, args.dlc, args.data, kind, name, args.timeout)
                   for kind, name in todo]
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            results.append(future.result())
            if sys.stderr.isatty():
                print(f"\r{done}/{len(todo)}", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty() and todo:
        print(file=sys.stderr)
    results.sort(key=lambda r: (r["kind"], r["name"]))
    return results


def totals_table(results):
    kinds = sorted({r["kind"] for r in results}, key=lambda k: ((KINDS + [k]).index(k), k))
    count = {(k, s): 0 for k in kinds + ["total"] for s in STATUSES}
    for r in results:
        count[(r["kind"], r["status"])] += 1
        count[("total", r["status"])] += 1
    width = max([len(k) for k in kinds] + [5])
    heads = ["passed", "frozen", "failed", "unsupported", "dlc error", "cases"]
    lines = [f"{'kind':<{width}}  " + "  ".join(f"{s:>11}" for s in heads)]
    for k in kinds + ["total"]:
        row = [count[(k, s)] for s in STATUSES]
        lines.append(f"{k:<{width}}  " + "  ".join(f"{n:>11}" for n in row + [sum(row)]))
    lines.append(f"(frozen: passed with shape-setting graph inputs bound by --freeze)")
    return lines


def write_report(folder, results):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "report.json"), "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    table = totals_table(results)
    with open(os.path.join(folder, "summary.txt"), "w") as f:
        f.writelines(line + "\n" for line in table)
        f.write("\n")
        for r in results:
            if r["status"] == "passed (frozen inputs)":
                f.write(f"frozen {r['kind']}/{r['name']}: {r['reason']}\n")
            elif r["status"] != "passed":
                f.write(f"{r['status']} {r['kind']}/{r['name']}: {r['reason']}\n")
    return table


def read_passing(path):
    if not os.path.exists(path):
        return set()
    # One `kind/name` a line; `#` starts a comment line.
    return {line.strip() for line in open(path) if line.strip() and not line.startswith("#")}


def die(message):
    """Exit 2: the run could not start, which is not a regression."""
    print(f"run.py: {message}", file=sys.stderr)
    sys.exit(2)


def base_case(entry):
    """`kind/name` of a passing-list entry, without the frozen suffix."""
    return entry[:-len(FROZEN_SUFFIX)] if entry.endswith(FROZEN_SUFFIX) else entry


def in_scope(case, kinds, pattern):
    case = base_case(case)
    kind = case.split("/", 1)[0]
    return kind in kinds and pattern.search(case) is not None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--data", required=True, help="folder written by gen_data.py")
    p.add_argument("--report", required=True, help="folder for report.json and summary.txt")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--filter", default="", help="regex searched in KIND/NAME")
    p.add_argument("--kinds", default=",".join(KINDS))
    p.add_argument("--passing", default=os.path.join(HERE, "passing.txt"))
    p.add_argument("--check-regressions", action="store_true")
    p.add_argument("--write-passing", action="store_true")
    p.add_argument("--timeout", type=float, default=60, help="seconds per case")
    args = p.parse_args()

    if not (os.path.isfile(args.dlc) and os.access(args.dlc, os.X_OK)):
        die(f"cannot run dlc at '{args.dlc}'")
    if not os.path.isdir(args.data):
        die(f"no test data at '{args.data}'; run gen_data.py first")
    if args.check_regressions and not os.path.exists(args.passing):
        die(f"no passing list at {args.passing}; make one with --write-passing")
    args.dlc = os.path.abspath(args.dlc)
    kinds = [k for k in args.kinds.split(",") if k]
    pattern = re.compile(args.filter)

    cases = find_cases(args.data, kinds, pattern)
    skipped = read_skipped(args.data)
    # Skipped cases have no folder; they still belong in the report.
    present = {f"{k}/{n}" for k, n in cases}
    for case in skipped:
        if case not in present and in_scope(case, kinds, pattern):
            cases.append(tuple(case.split("/", 1)))
    results = run_all(args, cases, skipped)
    for line in write_report(args.report, results):
        print(line)
    print(f"report: {os.path.join(args.report, 'summary.txt')}")

    passed = {f"{r['kind']}/{r['name']}" for r in results if r["status"] == "passed"}
    frozen = {f"{r['kind']}/{r['name']}" + FROZEN_SUFFIX for r in results
              if r["status"] == "passed (frozen inputs)"}
    listed = read_passing(args.passing)
    if args.write_passing:
        keep = {c for c in listed if not in_scope(c, kinds, pattern)}
        with open(args.passing, "w") as f:
            f.writelines(c + "\n" for c in sorted(keep | passed | frozen))
        print(f"wrote {args.passing}: {len(keep | passed | frozen)} cases")
    if args.check_regressions:
        status = {f"{r['kind']}/{r['name']}": r for r in results}
        guarded = sorted(c for c in listed if in_scope(c, kinds, pattern))
        # a case listed as passing with frozen inputs may also pass without
        lost = [c for c in guarded if base_case(c) not in passed and c not in frozen]
        for case in lost:
            r = status.get(base_case(case))
            why = f"{r['status']}: {r['reason']}" if r else "missing from the data"
            print(f"REGRESSION {case}: {why}")
        print(f"regressions: {len(guarded) - len(lost)} passed, {len(lost)} failed")
        sys.exit(1 if lost else 0)


if __name__ == "__main__":
    main()
