"""setup.py -- builds vidpipe._vidpipe for pip (pyproject.toml).

The extension carries libvidpipe statically: it links build/libvidpipe.a,
the installed-style archive in which only vp_ names are global, and
exports none of them itself (--exclude-libs), so the wheel needs only the
shared libraries the archive does (libzmq, msgpack-c, libturbojpeg,
libav*), as build/vidpipe.pc's Libs.private names them.  Both come from
the top-level Makefile, run here: pip from a clean checkout builds the
library as `make` would, and after `make` that step does nothing.  The
archive is the library's one build, so the binding gets the same objects
and flags as every other user of vidpipe.h.  It needs the checkout around
python/ (pip >= 21.3 builds in place); an sdist alone does not build.
"""

import os
import re
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, "build")
ARCHIVE = os.path.join(BUILD, "libvidpipe.a")
PC = os.path.join(BUILD, "vidpipe.pc")


def makefile_version():
    with open(os.path.join(ROOT, "Makefile")) as f:
        m = re.search(r"^VERSION\s*:=\s*(\S+)", f.read(), re.M)
    if not m:
        sys.exit("setup.py: no VERSION in %s/Makefile" % ROOT)
    return m.group(1)


def make_library():
    """make lib in the checkout: build/libvidpipe.a and build/vidpipe.pc,
    with the Makefile's own flags (none a calling make or `make asan`
    left in the environment)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "BUILD", "BIN",
                        "SAN", "OPT")}
    cmd = ["make", "-C", ROOT, "--no-print-directory", "-j%d" %
           (os.cpu_count() or 1), "BUILD=build", "lib"]
    print(" ".join(cmd), flush=True)
    if subprocess.call(cmd, env=env) != 0:
        sys.exit("setup.py: `%s` failed; the Makefile names any missing "
                 "package (tools/install-deps installs them)" % " ".join(cmd))


def private_libs():
    """-l flags of build/vidpipe.pc's Libs.private, without the -l."""
    with open(PC) as f:
        for line in f:
            if line.startswith("Libs.private:"):
                return [a[2:] for a in line.split()[1:] if a.startswith("-l")]
    sys.exit("setup.py: no Libs.private in %s" % PC)


class BuildExt(build_ext):
    def build_extensions(self):
        make_library()
        import numpy

        for ext in self.extensions:
            ext.include_dirs.append(numpy.get_include())
            ext.libraries.extend(private_libs())
        super().build_extensions()


ext = Extension(
    "vidpipe._vidpipe",
    sources=sorted("src/" + f for f in os.listdir(os.path.join(HERE, "src"))
                   if f.endswith(".c")),
    depends=[os.path.join(HERE, "src", "binding.h"), ARCHIVE],
    include_dirs=[os.path.join(ROOT, "schema")],
    define_macros=[("_GNU_SOURCE", None)],
    extra_compile_args=["-std=c11", "-fvisibility=hidden"],
    extra_objects=[ARCHIVE],
    extra_link_args=["-Wl,--exclude-libs,ALL"],
)

setup(version=makefile_version(), ext_modules=[ext],
      cmdclass={"build_ext": BuildExt})
