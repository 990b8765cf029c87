"""libvidpipe as its users get it: `make install` into a temporary prefix,
the example programs of docs/API.md built there with pkg-config against
the installed shared library, and run against the real programs, which
verify every frame they get.

The installation is built from scratch in a temporary directory with the
default flags (also under `make asan`): nothing in the tree's own build
is used or changed.
"""

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import free_ep, prog

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
PROGS = ["vidpipe-capture", "vidpipe-relay", "vidpipe-display",
         "vidpipe-rtsp", "vidpipe-inspect", "vidpipe-keygen",
         "vidpipe-patcheck"]
N = 60  # frames every receiver must verify


def make_install(build, *args):
    # Not the make that may be running us: its jobserver and variables.
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    # make asan runs us with SAN and OPT in the environment (make exports
    # what its command line set): the installed library is a plain one.
    r = subprocess.run(
        ["make", "-s", "-j2", "install", "BUILD=%s" % (build / "build"),
         "BIN=%s" % (build / "bin"), "SAN=", "OPT=-O2 -g"] + list(args),
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="module")
def inst(tmp_path_factory):
    """The prefix `make install` filled, and the examples built there."""
    tmp = tmp_path_factory.mktemp("install")
    prefix = tmp / "prefix"
    make_install(tmp, "PREFIX=%s" % prefix)
    env = dict(os.environ,
               PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
    for name in ("count", "publish"):
        # As docs/API.md says to, through a shell.
        cmd = "cc -Wall -Wextra -Werror %s $(pkg-config --cflags --libs " \
              "vidpipe) -o %s" % (shlex.quote(str(EXAMPLES / (name + ".c"))),
                                 shlex.quote(str(tmp / name)))
        r = subprocess.run(["sh", "-c", cmd], env=env, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, cmd + "\n" + r.stderr
    return {"tmp": tmp, "prefix": prefix, "count": str(tmp / "count"),
            "publish": str(tmp / "publish"),
            "env": {"LD_LIBRARY_PATH": str(prefix / "lib")}}


def out(*cmd, env=None):
    return subprocess.run(list(cmd), env=env, capture_output=True, text=True,
                          check=True, timeout=30).stdout


def test_install_layout(inst):
    p = inst["prefix"]
    for name in PROGS:
        assert os.access(p / "bin" / name, os.X_OK), name
    assert (p / "include" / "vidpipe.h").read_bytes() == \
        (ROOT / "schema" / "vidpipe.h").read_bytes()
    lib = p / "lib"
    assert (lib / "libvidpipe.a").is_file()
    assert (lib / "libvidpipe.so.0.1.0").is_file()
    assert os.readlink(lib / "libvidpipe.so.0") == "libvidpipe.so.0.1.0"
    assert os.readlink(lib / "libvidpipe.so") == "libvidpipe.so.0"
    dyn = out("readelf", "-d", str(lib / "libvidpipe.so.0.1.0"))
    assert "Library soname: [libvidpipe.so.0]" in dyn
    syms = [l.split()[-1] for l in out(
        "nm", "-D", "--defined-only", str(lib / "libvidpipe.so.0.1.0"))
        .splitlines() if l.strip()]
    assert "vp_sub_open" in syms and "vp_pub_loan" in syms
    assert [s for s in syms if not s.startswith("vp_")] == []
    env = dict(os.environ, PKG_CONFIG_PATH=str(lib / "pkgconfig"))
    flags = out("pkg-config", "--cflags", "--libs", "vidpipe", env=env).split()
    assert "-I%s/include" % p in flags and "-L%s" % lib in flags
    assert "-lvidpipe" in flags


def test_destdir_install_names_its_prefix(inst):
    """A second install, staged and for another prefix, from the same
    build: vidpipe.pc must name the new prefix, not the first one."""
    stage = inst["tmp"] / "stage"
    make_install(inst["tmp"], "PREFIX=/opt/vidpipe", "DESTDIR=%s" % stage)
    assert os.listdir(stage) == ["opt"]
    pc = (stage / "opt/vidpipe/lib/pkgconfig/vidpipe.pc").read_text()
    assert "prefix=/opt/vidpipe\n" in pc
    assert (stage / "opt/vidpipe/lib/libvidpipe.so.0.1.0").is_file()
    assert (stage / "opt/vidpipe/share/man/man1/vidpipe-relay.1").is_file()


@pytest.mark.parametrize("name", PROGS)
def test_man_page(inst, name):
    page = inst["prefix"] / "share" / "man" / "man1" / (name + ".1")
    r = subprocess.run(
        ["groff", "-man", "-Tutf8", "-ww", "-P-cbou", str(page)],
        capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    text = r.stdout
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS",
                    "EXIT STATUS", "EXAMPLES", "SEE ALSO"):
        assert "\n%s\n" % section in text, (name, section)
    assert re.search(r"NAME\n +%s +- +\w" % re.escape(name), text), text
    assert "-h, --help" in text


def test_api_md_shows_the_examples():
    api = (ROOT / "docs" / "API.md").read_text()
    for f in sorted(EXAMPLES.glob("*.c")):
        assert f.read_text() in api, "docs/API.md lacks %s as it is" % f.name
        r = subprocess.run(["clang-format", "--dry-run", "--Werror", str(f)],
                           cwd=ROOT, capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr


def test_examples_link_the_installed_library(inst):
    lib = inst["prefix"] / "lib"
    for name in ("count", "publish"):
        dyn = out("readelf", "-d", inst[name])
        assert "Shared library: [libvidpipe.so.0]" in dyn, dyn
        ldd = out("ldd", inst[name], env=dict(os.environ, **inst["env"]))
        assert "libvidpipe.so.0 => %s/libvidpipe.so.0 " % lib in ldd, ldd


@pytest.mark.parametrize("transport", ["auto", "tcp"])
def test_publish_example_to_display(procs, inst, transport):
    """Every frame the display gets shows the seq its header says: the
    example drew them into loaned ring slots (auto: shared memory) or
    ZeroMQ buffers (tcp)."""
    ep = free_ep()
    dis = procs.display(ep, "-n", N, transport=transport)
    pub = procs.start(inst["publish"], ep, N + 30, stats=False,
                      env=inst["env"])
    assert dis.wait(20) == 0, dis.describe()
    s = dis.exit_stats()
    assert s["frames"] >= N and s["verified"] == s["frames"], s
    assert s["mismatch"] == 0 and s["torn"] == 0 and s["bad"] == 0, s
    assert s["path"] == ("shm" if transport == "auto" else "tcp"), s
    assert pub.wait(10) == 0, pub.describe()
    assert pub.exit_stats()["frames"] == N + 30, pub.describe()


@pytest.mark.parametrize("transport", ["shm", "tcp"])
def test_capture_to_count_example(procs, inst, transport):
    ep = free_ep()
    cnt = procs.start(inst["count"], ep, N, 15, stats=False,
                      env=inst["env"])
    procs.capture(ep, *(["--no-shm"] if transport == "tcp" else []))
    assert cnt.wait(20) == 0, cnt.describe()
    s = cnt.exit_stats()
    assert s["frames"] == N and s["verified"] == N, s
    assert s["path"] == transport, s


def test_capture_pipe_to_count_example(inst):
    cap = subprocess.Popen(
        [prog("capture"), "-i", "test:", "-o", "-", "-n", "30", "--size",
         "320x240", "--codec", "jpeg"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL)
    try:
        r = subprocess.run([inst["count"], "-", "30", "10"], stdin=cap.stdout,
                           capture_output=True, text=True, timeout=20,
                           env=dict(os.environ, **inst["env"]))
    finally:
        cap.stdout.close()
        cap.kill()
        cap.wait(5)
    assert r.returncode == 0, r.stderr
    assert '"path":"pipe"' in r.stderr and '"verified":30' in r.stderr, \
        r.stderr
