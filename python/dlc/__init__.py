"""dlc from Python: compile an ONNX model to C, build it, call it on numpy arrays.

    import dlc
    model = dlc.compile("model.onnx", shapes={"x": (1, 3, 224, 224)})
    (logits,) = model(x)                 # or model(x=x); outputs in graph order

compile() runs the dlc compiler (the one shipped in this package, else
$DLC_EXECUTABLE, else `dlc` on PATH), builds the generated C into a shared
library with $CC (default cc, -O3 -march=native unless cflags says
otherwise) and loads it with ctypes. The model's input and output tables
(names, dtypes, shapes) come from the library itself. A model dlc refuses
raises DlcError with dlc's message (file, node, op, reason).

dlc.backend.DlcBackend is an onnx.backend.base.Backend over the same path,
so onnx.backend.test can run against dlc.
"""
import ctypes
import os
import re
import shutil
import subprocess
import tempfile
import threading

import numpy as np

__all__ = ["compile", "Model", "DlcError", "executable"]

# ONNX TensorProto codes the generated tables use -> numpy dtypes
_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
           7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32,
           13: np.uint64}


class DlcError(RuntimeError):
    """dlc refused the model, or its generated code failed to build or run."""


def executable():
    """The dlc compiler this package uses."""
    bundled = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "dlc")
    for path in (os.environ.get("DLC_EXECUTABLE"), bundled, shutil.which("dlc")):
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise DlcError("no dlc executable: install this package with pip (it builds one), "
                   "or set DLC_EXECUTABLE")


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("rank", ctypes.c_int),
                ("shape", ctypes.c_longlong * 8), ("bytes", ctypes.c_size_t)]


class Tensor:
    """An input or output of a compiled model: name, numpy dtype, shape."""

    def __init__(self, info):
        self.name = info.name.decode()
        if info.dtype not in _DTYPES:
            raise DlcError(f"'{self.name}': ONNX dtype {info.dtype} has no numpy type")
        self.dtype = np.dtype(_DTYPES[info.dtype])
        self.shape = tuple(info.shape[i] for i in range(info.rank))
        self.nbytes = info.bytes

    def __repr__(self):
        return f"Tensor({self.name!r}, {self.dtype}, {self.shape})"


def _aligned(nbytes):
    """A zeroed numpy byte buffer whose data is 64-byte aligned (at least 64
    bytes: numpy may place an empty view anywhere)."""
    nbytes = max(nbytes, 64)
    raw = np.zeros(nbytes + 64, np.uint8)
    off = (-raw.ctypes.data) % 64
    return raw[off:off + nbytes]


class Model:
    """A model compiled by dlc and loaded from its shared library. Calls are
    serialised (the workspace is the object's own)."""

    def __init__(self, library, header, prefix):
        text = open(header).read()
        if re.search(r"\b%s_NUM_DIMS\b|const long long dims\[\]" % prefix.upper(), text):
            raise DlcError("the model keeps run-time dims: bind every input dim with shapes=")
        if re.search(r"%s_WEIGHTS_SIZE" % prefix.upper(), text):
            raise DlcError("weights in a separate file are not supported here")
        self.library = library
        self._lib = ctypes.CDLL(library)
        nin = int(re.search(r"#define %s_NUM_INPUTS (\d+)" % prefix.upper(), text).group(1))
        nout = int(re.search(r"#define %s_NUM_OUTPUTS (\d+)" % prefix.upper(), text).group(1))
        ws = int(re.search(r"#define %s_WORKSPACE_SIZE (\d+)u" % prefix.upper(), text).group(1))
        ins = (_TensorInfo * max(1, nin)).in_dll(self._lib, prefix + "_inputs")
        outs = (_TensorInfo * nout).in_dll(self._lib, prefix + "_outputs")
        self.inputs = [Tensor(ins[i]) for i in range(nin)]
        self.outputs = [Tensor(outs[i]) for i in range(nout)]
        self._run = getattr(self._lib, prefix + "_run_with_workspace")
        self._run.restype = ctypes.c_int
        self._workspace = _aligned(ws)
        self._lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        """Outputs (a list of numpy arrays, graph order) for the inputs given
        in graph order or by name; each is converted to the input's dtype
        and must have its shape."""
        if args and kwargs:
            raise TypeError("give the inputs in order or by name, not both")
        if kwargs:
            missing = [t.name for t in self.inputs if t.name not in kwargs]
            if missing or len(kwargs) != len(self.inputs):
                raise TypeError(f"inputs are {[t.name for t in self.inputs]}, got {list(kwargs)}")
            args = [kwargs[t.name] for t in self.inputs]
        if len(args) != len(self.inputs):
            raise TypeError(f"{len(self.inputs)} inputs expected, got {len(args)}")
        arrays = []
        for t, a in zip(self.inputs, args):
            a = np.ascontiguousarray(a, dtype=t.dtype)
            if a.shape != t.shape:
                raise ValueError(f"input '{t.name}' has shape {t.shape}, got {a.shape}")
            arrays.append(a)
        results = [np.empty(t.shape, t.dtype) for t in self.outputs]
        ins = (ctypes.c_void_p * max(1, len(arrays)))(*[a.ctypes.data for a in arrays])
        outs = (ctypes.c_void_p * len(results))(*[r.ctypes.data for r in results])
        with self._lock:
            status = self._run(ins, outs, self._workspace.ctypes.data_as(ctypes.c_void_p))
        if status != 0:
            raise DlcError(f"the compiled model returned status {status}")
        return results


def compile(model, shapes=None, name="model", cflags=None, threads=False, workdir=None,
            options=()):
    """Compiles model (a path, or an onnx.ModelProto) into a Model.

    shapes: {input: dims} bindings for symbolic dims (dlc --shape);
    cflags: the C compiler's flags (default -O3 -march=native);
    threads: build with OpenMP (OMP_NUM_THREADS threads at run time);
    workdir: where the generated files and the library go (default: a new
    temporary folder, which the library must outlive; not removed);
    options: more dlc flags (say ["--no-winograd"])."""
    work = workdir or tempfile.mkdtemp(prefix="dlc-")
    os.makedirs(work, exist_ok=True)
    if not isinstance(model, (str, os.PathLike)):
        path = os.path.join(work, name + ".onnx")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        model = path
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"name must be a C identifier, not {name!r}")
    c_file = os.path.join(work, name + ".c")
    argv = [executable(), os.fspath(model), "-o", c_file, "--name", name, *options]
    for inp, dims in (shapes or {}).items():
        argv += ["--shape", f"{inp}={'x'.join(str(int(d)) for d in dims)}"]
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        raise DlcError(r.stderr.strip() or f"dlc exited with status {r.returncode}")
    lib = os.path.join(work, "lib" + name + ".so")
    cc = os.environ.get("CC") or "cc"
    flags = (cflags.split() if isinstance(cflags, str) else list(cflags)) if cflags is not None \
        else ["-O3", "-march=native"]
    argv = [cc, "-std=c99", *flags, "-fPIC", "-shared", *(["-fopenmp"] if threads else []),
            "-o", lib, c_file, "-lm"]
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        raise DlcError(f"{cc} failed on the generated code: {r.stderr.strip()[:2000]}")
    return Model(lib, os.path.join(work, name + ".h"), name)
