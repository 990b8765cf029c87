"""test_pip.py -- the Python package as pip installs it (docs/PYTHON.md).

A fresh venv (with the system's site-packages, for numpy and pytest) gets
`pip install --no-build-isolation --no-index ./python`, offline, as
docs/PYTHON.md says.  The extension it installs carries libvidpipe
statically: it needs only the shared libraries of libzmq, msgpack-c,
libturbojpeg and libav*, and exports its PyInit and nothing else, no
vp_ name and none of the library's own.  `pip wheel` makes the same as
a wheel.  Then the tests of test_python.py that run the Python examples
run again under the venv's interpreter, on its installed package and
not on the tree's (conftest.import_vidpipe checks where it came from).
"""

import os
import re
import subprocess
import zipfile

import pytest

from conftest import HERE

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
# What the extension may need at run time: the libraries libvidpipe.a
# needs, and the C library's.
NEEDED_OK = re.compile(r"lib(zmq|msgpackc|turbojpeg|avcodec|avutil|swscale|"
                       r"m|c|pthread)\.so\.\d+$|ld-linux-x86-64\.so\.2$")
# The tests of test_python.py that run the examples, or receive in the
# test's own process (shared memory and TCP).
EXAMPLE_TESTS = ("example or publisher_to_relay or filter or "
                 "shm_views_the_ring or subscriber_tcp")


def run(*cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True,
                       text=True, timeout=kw.pop("timeout", 180), **kw)
    assert r.returncode == 0, "%s\n%s%s" % (" ".join(map(str, cmd)),
                                            r.stdout[-3000:],
                                            r.stderr[-3000:])
    return r.stdout


def clean_env(**more):
    """This environment without what points Python at the tree's
    package or makes make build something else (make asan's)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL",
                        "BUILD", "BIN", "SAN", "OPT")}
    env.update(more)
    return env


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("venv")
    venv = tmp / "venv"
    run("/usr/bin/python3", "-m", "venv", "--system-site-packages", venv)
    run(venv / "bin" / "pip", "install", "--no-build-isolation",
        "--no-index", "./python", cwd=ROOT, env=clean_env())
    return venv


def makefile_version():
    with open(os.path.join(ROOT, "Makefile")) as f:
        return re.search(r"^VERSION\s*:=\s*(\S+)", f.read(), re.M).group(1)


def test_installed_extension_is_self_contained(venv, tmp_path):
    py = venv / "bin" / "python"
    where = run(py, "-c", "import vidpipe, sys; print(vidpipe.__file__); "
                "print(vidpipe._vidpipe.__file__); print(vidpipe.version())",
                cwd=tmp_path, env=clean_env()).split()
    site = str(venv / "lib")
    assert where[0].startswith(site) and where[1].startswith(site), where
    assert where[2] == makefile_version(), where
    so = where[1]
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]",
                        run("readelf", "-d", so))
    assert needed and all(NEEDED_OK.match(n) for n in needed), needed
    assert "PyInit__vidpipe" in run("nm", "-D", "--defined-only", so)
    for opts in (["-D"], []):  # the dynamic table, the static one
        glob = [l.split()[-1] for l in run(
            "nm", "-g", "--defined-only", *opts, so).splitlines()]
        assert glob == ["PyInit__vidpipe"], (opts, glob)
    # The library is in it, its names local: a user's own log_init or
    # vp_version cannot meet them.
    local = run("nm", "--defined-only", so)
    assert re.search(r" t vp_version$", local, re.M)
    assert re.search(r" t log_init$", local, re.M)


def test_pip_wheel(tmp_path):
    run("/usr/bin/python3", "-m", "pip", "wheel", "--no-build-isolation",
        "--no-index", "--no-deps", "-w", tmp_path, "./python", cwd=ROOT,
        env=clean_env())
    wheels = list(tmp_path.glob("vidpipe-%s-*.whl" % makefile_version()))
    assert len(wheels) == 1, list(tmp_path.iterdir())
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "vidpipe/__init__.py" in names, names
    assert [n for n in names if re.match(r"vidpipe/_vidpipe\..*\.so$", n)], \
        names


def test_examples_from_the_venv(venv):
    """test_python.py's example tests, run by the venv's python on the
    package pip installed, against the same programs."""
    out = run(venv / "bin" / "python", "-m", "pytest", "-q",
              "-p", "no:cacheprovider", "-k", EXAMPLE_TESTS,
              os.path.join(HERE, "test_python.py"), cwd=ROOT,
              env=clean_env(VIDPIPE_PYTHON=str(venv / "bin" / "python"),
                            VIDPIPE_PY_DIR=""), timeout=300)
    m = re.search(r"(\d+) passed", out)
    assert m and int(m.group(1)) >= 7, out[-2000:]
    assert not re.search(r"failed|skipped|error", out), out[-2000:]
