"""Generated code cross-compiled for AArch64 and run under qemu, against ONNX Runtime.

usage: python aarch64.py --dlc build/dlc --work DIR

dlc runs on the build machine; its output is meant for whatever CPU the
product has. Here the harness and model.c of each case are built with
Debian's cross compiler and run by qemu's user-mode emulator:

    CC=aarch64-linux-gnu-gcc DLC_CHECK_CFLAGS=-O2
    DLC_CHECK_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"

(docs/cli.md), then the model test scripts run unchanged with that
environment: the project's own networks (tests/models/run.py: resnet,
mobilenet, mlp, attention), the exported detector / text detector /
recogniser / voice-activity / GRU / Loop models (shipped.py, the
recogniser at three run-time widths), the recurrent cells (rnn.py),
Resize (resize.py) and the pools (pool.py), each at the tolerances its
script states. AArch64 always has Advanced SIMD, so the GEMM takes its
NEON micro-kernel (runtime/gemm.c) and the other kernels their portable
C; the script first proves both facts: the cross compiler defines
__ARM_NEON at these flags, and a harness it built is an AArch64 ELF file.

The tools come from Debian (gcc-aarch64-linux-gnu, qemu-user;
scripts/setup.sh installs them); without them this test fails, naming
them. Exit status 1 if any case failed.
"""
import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(os.path.dirname(HERE), "models")
CC = "aarch64-linux-gnu-gcc"
QEMU = "qemu-aarch64"
SYSROOT = "/usr/aarch64-linux-gnu"

SCRIPTS = [
    ("run.py", ["--only", "resnet", "mobilenet", "mlp", "attention"]),
    ("shipped.py", []),
    ("rnn.py", []),
    ("resize.py", []),
    ("pool.py", []),
]


def neon_defined(env):
    out = subprocess.run([CC, *env["DLC_CHECK_CFLAGS"].split(), "-dM", "-E", "-x", "c",
                          os.devnull], capture_output=True, text=True, check=True).stdout
    return "#define __ARM_NEON 1" in out


def elf_machine(path):
    with open(path, "rb") as f:
        head = f.read(20)
    return int.from_bytes(head[18:20], "little") if head[:4] == b"\x7fELF" else None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--work", required=True)
    args = p.parse_args()
    missing = [t for t in (CC, QEMU) if not shutil.which(t)]
    if missing or not os.path.isdir(SYSROOT):
        print(f"FAIL: {', '.join(missing) or SYSROOT} not found: install the Debian packages "
              "gcc-aarch64-linux-gnu and qemu-user (scripts/setup.sh does)")
        return 1
    env = dict(os.environ, CC=CC, DLC_CHECK_CFLAGS="-O2",
               DLC_CHECK_RUNNER=f"{QEMU} -L {SYSROOT}")
    dlc = os.path.abspath(args.dlc)
    fails = 0
    if not neon_defined(env):
        print(f"FAIL: {CC} {env['DLC_CHECK_CFLAGS']} does not define __ARM_NEON")
        fails += 1
    for script, extra in SCRIPTS:
        work = os.path.join(args.work, script[:-3])
        print(f"-- {script} {' '.join(extra)}", flush=True)
        rc = subprocess.run([sys.executable, os.path.join(MODELS, script), "--dlc", dlc,
                             "--work", work, *extra], env=env).returncode
        fails += rc != 0
        if script == "run.py":
            # one harness rebuilt and kept, to see what was run
            keep = os.path.join(args.work, "keep")
            subprocess.run([dlc, "check", os.path.join(work, "models", "resnet.onnx"),
                            os.path.join(work, "data", "resnet", "test_data_set_0"),
                            "--keep", keep], env=env, capture_output=True)
            machine = elf_machine(os.path.join(keep, "harness"))
            ok = machine == 183     # EM_AARCH64
            print(f"{'PASS' if ok else 'FAIL'} the harness is an AArch64 ELF file "
                  f"(e_machine {machine})")
            fails += not ok
    print("aarch64: PASS" if not fails else f"aarch64: FAIL ({fails} failed)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
