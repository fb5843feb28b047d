"""External-data cases: initializer W_ext stored in a file beside the model,
except that its location escapes the model's folder, or its offset/length
do not fit the file. Each case has a folder ext/NAME/ of its own.

ext/canary.bin holds a valid W_ext, outside every case's folder: a compiler
that follows an escaping path finds a perfectly good tensor there and would
"succeed", so these cases catch that it checked the path, not that the read
happened to fail."""
import os

import numpy as np
from onnx import TensorProto, helper

from bad_lib import F, case, make, remove, save, vi

W_EXT = np.arange(4, dtype=np.float32).reshape(2, 2)
CANARY = "ext/canary.bin"  # relative to the corpus folder

ESCAPE = ["W_ext", ["outside", "escape"]]
OUT_OF_FILE = ["W_ext", ["offset", "length", "beyond", "past", "short",
                         "end of file", "exceeds"]]


def write_canary(outdir):
    with open(os.path.join(outdir, CANARY), "wb") as f:
        f.write(W_EXT.tobytes())


def external_model(location, offset=None, length=None, dims=W_EXT.shape):
    t = TensorProto()
    t.name = "W_ext"
    t.data_type = F
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", offset),
                       ("length", length)):
        if value is not None:
            entry = t.external_data.add()
            entry.key, entry.value = key, str(value)
    node = helper.make_node("Add", ["x", "W_ext"], ["y"], name="add_ext")
    return make([node], [vi("x", [2, 2])], [vi("y", [2, 2])], [t])


def write_weights(folder, data=None):
    path = os.path.join(folder, "w.bin")
    remove(path)  # it may be a symlink from an earlier run
    with open(path, "wb") as f:
        f.write(W_EXT.tobytes() if data is None else data)


def location_case(name, why, expect, bad_location, **extra):
    """bad: W_ext at bad_location(folder), with extra offset/length;
    good: at w.bin beside the model."""
    def build(path, bad):
        folder = os.path.dirname(path)
        if bad:
            save(external_model(bad_location(folder), **extra), path)
        else:
            write_weights(folder)
            save(external_model("w.bin"), path)
    case(name, why, expect, own_dir=True)(build)


# From any folder fewer than 32 levels deep this reaches the real
# /etc/passwd, and length=16 makes its first 16 bytes a "valid" tensor.
location_case("external_escape_passwd", "location ../ x32 + etc/passwd, "
              "length 16", ESCAPE, lambda folder: "../" * 32 + "etc/passwd",
              length=16)
location_case("external_escape_canary", "location ../canary.bin: a real, "
              "correctly sized file just outside the model's folder",
              ESCAPE, lambda folder: "../canary.bin")
location_case("external_absolute", "location is the absolute path of a "
              "real, correctly sized file",
              ["W_ext", ["absolute", "outside", "escape"]],
              lambda folder: os.path.abspath(
                  os.path.join(folder, "..", "canary.bin")))
location_case("external_missing_file", "location names a file that does "
              "not exist", ["W_ext", "missing.bin"],
              lambda folder: "missing.bin")


@case("external_symlink_escape", "location w.bin is a symlink to a file "
      "outside the model's folder", ESCAPE, own_dir=True)
def _symlink_escape(path, bad):
    folder = os.path.dirname(path)
    if bad:
        remove(os.path.join(folder, "w.bin"))
        os.symlink(os.path.join("..", "canary.bin"),
                   os.path.join(folder, "w.bin"))
    else:
        write_weights(folder)
    save(external_model("w.bin"), path)


@case("external_huge_claim", "dims [65536, 65536] (16 GiB, the most one tensor may "
      "hold) of external data in a 16-byte file: refused before allocating 16 GiB",
      OUT_OF_FILE, own_dir=True)
def _huge_claim(path, bad):
    write_weights(os.path.dirname(path))
    if bad:
        save(external_model("w.bin", length=1 << 34, dims=(1 << 16, 1 << 16)), path)
    else:
        save(external_model("w.bin"), path)


@case("external_symlink_dir", "location sub/w.bin where sub is a symlink to the "
      "folder above: the file exists, but outside the model's folder", ESCAPE, own_dir=True)
def _symlink_dir(path, bad):
    folder = os.path.dirname(path)
    sub = os.path.join(folder, "sub")
    remove(sub)
    if os.path.isdir(sub):
        os.rmdir(sub)
    if bad:
        os.symlink("..", sub)       # sub/canary.bin is ../canary.bin
        save(external_model("sub/canary.bin"), path)
    else:
        os.mkdir(sub)
        write_weights(sub)
        save(external_model("sub/w.bin"), path)


@case("external_directory", "location names a folder inside the model's folder",
      ["W_ext", ["cannot read", "not a file", "missing"]], own_dir=True)
def _directory(path, bad):
    folder = os.path.dirname(path)
    os.makedirs(os.path.join(folder, "wdir"), exist_ok=True)
    write_weights(folder)
    save(external_model("wdir" if bad else "w.bin"), path)


def range_case(name, why, bad_extra, bad_file=None):
    """w.bin beside the model; bad: offset/length (or the file's size) do
    not fit."""
    def build(path, bad):
        write_weights(os.path.dirname(path), bad_file if bad else None)
        save(external_model("w.bin", **(bad_extra if bad else {})), path)
    case(name, why, OUT_OF_FILE, own_dir=True)(build)


range_case("external_offset_beyond", "offset 4096 in a 16-byte file",
           {"offset": 4096})
range_case("external_length_beyond", "length 4096 in a 16-byte file",
           {"length": 4096})
range_case("external_offset_overflow", "offset 2^63-8 plus length 16 "
           "overflows int64", {"offset": (1 << 63) - 8, "length": 16})
range_case("external_file_too_short", "no offset/length, but the file "
           "holds 8 of the 16 bytes the tensor needs", {},
           bad_file=W_EXT.tobytes()[:8])
