"""Builds the dlc executable with CMake and ships it in the package
(pyproject.toml holds the metadata)."""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))


class BuildWithDlc(build_py):
    """The pure-Python modules, plus dlc/bin/dlc built from this tree."""

    def run(self):
        super().run()
        build = os.path.join(ROOT, "build-python")
        subprocess.run(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release"],
                       check=True)
        subprocess.run(["cmake", "--build", build, "--target", "dlc", "-j",
                        str(os.cpu_count() or 2)], check=True)
        dest = os.path.join(self.build_lib, "dlc", "bin")
        os.makedirs(dest, exist_ok=True)
        shutil.copy2(os.path.join(build, "dlc"), os.path.join(dest, "dlc"))


# setuptools' own build folder kept out of CMake's build/
setup(cmdclass={"build_py": BuildWithDlc},
      options={"build": {"build_base": os.path.join("build-python", "setuptools")}})
