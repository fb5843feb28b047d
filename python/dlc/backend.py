"""An ONNX backend (onnx.backend.base) that runs models through dlc.

    import onnx.backend.test
    from dlc.backend import DlcBackend
    tests = onnx.backend.test.BackendTest(DlcBackend, __name__)

prepare() compiles the model with dlc.compile; run() calls it. An input
that sets a shape (Resize's scales, Reshape's shape, ... fed as graph
inputs) cannot be known at prepare time: when dlc asks for such a value
(`--freeze NAME=FILE.pb`), the representation compiles on run() with the
values given there frozen, and again when they change. Only the CPU
device.
"""
import os
import re
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.base import Backend, BackendRep

import dlc

_FREEZE = re.compile(r"--freeze ([^=\s]+)=FILE\.pb")


class DlcBackendRep(BackendRep):
    def __init__(self, model, compiled=None):
        self.proto = model
        self.names = [i.name for i in model.graph.input
                      if i.name not in {t.name for t in model.graph.initializer}]
        self.compiled = compiled
        self.frozen = {}        # name -> the array compiled in

    def _compile_with(self, feeds, wanted):
        work = tempfile.mkdtemp(prefix="dlc-backend-")
        opts = []
        for name in wanted:
            path = os.path.join(work, name.replace("/", "_") + ".pb")
            with open(path, "wb") as f:
                f.write(numpy_helper.from_array(np.asarray(feeds[name]), name)
                        .SerializeToString())
            opts += ["--freeze", f"{name}={path}"]
        self.compiled = dlc.compile(self.proto, workdir=work, options=opts)
        self.frozen = {n: np.array(feeds[n]) for n in wanted}

    def run(self, inputs, **kwargs):
        if isinstance(inputs, dict):
            feeds = dict(inputs)
        else:
            if not isinstance(inputs, (list, tuple)):
                inputs = [inputs]
            feeds = dict(zip(self.names, inputs))
        stale = any(not np.array_equal(feeds[n], v) for n, v in self.frozen.items())
        if self.compiled is None or stale:
            wanted = list(self.frozen)
            while True:
                try:
                    self._compile_with(feeds, wanted)
                    break
                except dlc.DlcError as e:
                    more = [n for n in _FREEZE.findall(str(e)) if n in feeds and n not in wanted]
                    if not more:
                        raise
                    wanted += more
        return tuple(self.compiled(**{n: v for n, v in feeds.items() if n not in self.frozen}))


class DlcBackend(Backend):
    @classmethod
    def prepare(cls, model, device="CPU", **kwargs):
        if isinstance(model, bytes):
            model = onnx.load_from_string(model)
        super().prepare(model, device, **kwargs)
        try:
            compiled = dlc.compile(model, workdir=tempfile.mkdtemp(prefix="dlc-backend-"))
        except dlc.DlcError as e:
            if not _FREEZE.search(str(e)):
                raise
            compiled = None     # needs input values: compiled on run()
        return DlcBackendRep(model, compiled)

    @classmethod
    def run_model(cls, model, inputs, device="CPU", **kwargs):
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def supports_device(cls, device):
        return device == "CPU"


prepare = DlcBackend.prepare
run_model = DlcBackend.run_model
supports_device = DlcBackend.supports_device
