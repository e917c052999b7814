"""pip install --no-build-isolation ./python: builds vitals._vitals with CMake (the repository's
own build, target vitals_python) and installs it with the package. No network: setuptools,
CMake, pybind11 and the C++ libraries come from Debian (scripts/install-deps.sh build python).

Environment: VITALS_CMAKE_BUILD_DIR (absolute: pip runs this from python/) reuses a configured
build tree, e.g. $PWD/build/release, where only the module is (re)built; VITALS_CMAKE_ARGS adds
configure arguments; JOBS the parallel jobs."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        build = Path(os.environ.get("VITALS_CMAKE_BUILD_DIR") or (Path(self.build_temp) / "cmake"))
        build = build.resolve()
        if not (build / "CMakeCache.txt").exists():
            args = ["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                    "-DVITALS_BUILD_PYTHON=ON", "-DVITALS_BUILD_TESTS=OFF",
                    "-DVITALS_BUILD_BENCH=OFF", "-DVITALS_BUILD_EXAMPLES=OFF",
                    "-DVITALS_BUILD_APPS=OFF", "-DVITALS_INSTALL=OFF", "-DVITALS_BUILD_GRPC=OFF",
                    f"-DPython_EXECUTABLE={sys.executable}"]
            if shutil.which("ninja"):
                args += ["-G", "Ninja"]
            args += os.environ.get("VITALS_CMAKE_ARGS", "").split()
            subprocess.run(args, check=True)
        jobs = os.environ.get("JOBS", str(os.cpu_count() or 2))
        subprocess.run(["cmake", "--build", str(build), "--target", "vitals_python", "-j", jobs],
                       check=True)
        built = sorted((build / "python" / "vitals").glob("_vitals*.so"))
        if not built:
            raise RuntimeError(f"no _vitals module in {build / 'python' / 'vitals'}")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built[-1], target)


setup(
    name="vitals",
    version="0.1.0",
    description="Health checks for Python web services: the vitals engine (C++), its checks "
                "and its endpoints in Flask, Django, FastAPI and aiohttp",
    packages=["vitals", "vitals.django"],
    package_data={"vitals": ["py.typed", "*.pyi"]},
    ext_modules=[Extension("vitals._vitals", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    zip_safe=False,
)
