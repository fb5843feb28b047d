"""Write the bad-input corpus: models that dlc must reject cleanly.

usage: python make_bad.py OUTDIR

Each case is a model that is malformed (bytes), hostile (sizes, paths) or
unsupported; the cases live in cases_bytes.py, cases_graph.py,
cases_control.py and cases_external.py. OUTDIR/cases.json lists them, one per line, as
  {"name", "file" (relative to OUTDIR), "why", "expect_substrings"}
where each expect_substrings entry is a string the diagnostic must contain,
or a list of alternatives of which it must contain one (case-insensitive).
run.py also expects the model's file name in the message.

The models are built with onnx.helper and never passed to onnx.checker:
most are invalid on purpose. check_corpus.py checks the corpus itself.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Importing a cases_* module registers its cases, in this order.
import cases_bytes  # noqa: E402,F401 pylint: disable=unused-import
import cases_graph  # noqa: E402,F401 pylint: disable=unused-import
import cases_control  # noqa: E402,F401 pylint: disable=unused-import
import cases_external  # noqa: E402
from bad_lib import CASES  # noqa: E402


def write_corpus(outdir, bad=True):
    """Write every case (bad, or with its defect removed) and cases.json
    into outdir; return the listing."""
    os.makedirs(os.path.join(outdir, "ext"), exist_ok=True)
    cases_external.write_canary(outdir)
    listing = []
    for c in CASES:
        path = os.path.join(outdir, c.file)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        c.build(path, bad)
        listing.append({"name": c.name, "file": c.file, "why": c.why,
                        "expect_substrings": c.expect})
    with open(os.path.join(outdir, "cases.json"), "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(e) for e in listing) + "\n]\n")
    return listing


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_bad.py OUTDIR")
    listing = write_corpus(sys.argv[1])
    print(f"wrote {len(listing)} bad models to {sys.argv[1]}")


if __name__ == "__main__":
    main()
