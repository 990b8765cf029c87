"""test_bench.py -- tests of tools/vidpipe-bench's own arithmetic and
parsing (not of vidpipe: a benchmark is not a timed test).

Run: /usr/bin/python3 -m pytest -q tests/bench
"""

import importlib.machinery
import importlib.util
import json
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.environ.get("VIDPIPE_BIN") or os.path.join(ROOT, "bin")


def load_bench():
    path = os.path.join(ROOT, "tools", "vidpipe-bench")
    loader = importlib.machinery.SourceFileLoader("vidpipe_bench", path)
    spec = importlib.util.spec_from_loader("vidpipe_bench", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


bench = load_bench()


def tick(t, frames, **kw):
    r = {"prog": "display", "event": "tick", "t": t, "frames": frames,
         "lat_p50_us": 100, "lat_p99_us": 200, "lat_max_us": 300}
    r.update(kw)
    return r


def test_stats_line_parsed_and_log_lines_ignored():
    line = json.dumps(tick(5.0, 30))
    assert bench.parse_stats_line(line + "\n")["frames"] == 30
    assert bench.parse_stats_line("vidpipe-display: shm x: gone") is None
    assert bench.parse_stats_line("{not json") is None
    assert bench.parse_stats_line('{"frames": 3}') is None  # no event/t
    assert bench.parse_stats_line("[1, 2]") is None


def test_counter_interpolated_between_reports():
    reports = [tick(10.0, 0), tick(11.0, 30), tick(12.0, 60)]
    assert bench.counter_at(reports, "frames", 10.5) == pytest.approx(15)
    assert bench.counter_at(reports, "frames", 11.0) == pytest.approx(30)
    assert bench.counter_at(reports, "frames", 9.0) is None  # before any
    assert bench.counter_at(reports, "frames", 13.0) == 60  # after last
    assert bench.window_delta(reports, "frames", 10.25, 11.75) == \
        pytest.approx(45)
    assert bench.window_delta(reports, "drops", 10.25, 11.75) is None


def test_window_latency_uses_reports_inside_the_window():
    reports = [tick(10.0, 30, lat_p50_us=5000, lat_p99_us=9000,
                    lat_max_us=9999),                       # warm-up
               tick(11.0, 60, lat_p50_us=100, lat_p99_us=150, lat_max_us=160),
               tick(12.0, 150, lat_p50_us=300, lat_p99_us=350,
                    lat_max_us=360),
               tick(13.0, 180, lat_p50_us=7000, lat_p99_us=8000,
                    lat_max_us=8888)]                        # after
    w = bench.window_latency(reports, 10.0, 12.0)
    assert w["reports"] == 2
    # 30 frames at p50 100, 90 at p50 300: the median frame is at 300.
    assert w["p50"] == 300
    assert w["p99"] == 350 and w["max"] == 360
    assert bench.window_latency(reports, 20.0, 21.0) is None


def test_per_frame_cpu():
    assert bench.per_frame(3000000, 30) == 100.0  # 3 ms over 30 frames
    assert bench.per_frame(None, 30) is None
    assert bench.per_frame(1000, 0) is None


def test_cpu_and_rss_of_this_process():
    pid = os.getpid()
    a = bench.cpu_ns(pid)
    sum(range(200000))
    assert bench.cpu_ns(pid) > a
    assert bench.rss_kb(pid) > 0
    assert bench.cpu_ns(2 ** 22 + 12345) is None


def test_table_row_shows_errors_and_missing_values():
    row = bench.table_row({"path": "shm", "size": "640x480", "subs": 1,
                           "fps_asked": 0, "error": "display exited"})
    assert "ERROR: display exited" in row and "max" in row
    r = {"path": "tcp-raw", "size": "1920x1080", "subs": 2, "fps_asked": 30,
         "fps": 29.5, "lat_p50_us": 1000, "lat_p99_us": None,
         "cpu_us_per_frame": {"capture": 10.0, "relay": 5.0,
                              "display": None}, "rss_kb": {}, "limits": {}}
    cells = bench.table_row(r).split()
    assert cells[:6] == ["tcp-raw", "bgr24", "1920x1080", "2", "30", "29.5"]
    assert "-" in cells
    assert len(cells) == len(bench.COLS)
    r["pix_fmt"] = "yuv420p"
    assert bench.table_row(r).split()[1] == "yuv420p"


def test_targets_are_judged_on_bgr24():
    """A case in another pixel format is a case of its own: the targets'
    lookups find the bgr24 one."""
    def case(pix_fmt, fps):
        return {"path": "tcp-raw", "size": "1920x1080", "subs": 1,
                "fps_asked": 0, "fps": fps, "pix_fmt": pix_fmt}
    rs = [case("bgr24", 200.0), case("yuv420p", 400.0)]
    assert [r["fps"] for r in bench.find_all(rs, "tcp-raw", "1920x1080", 1,
                                             0)] == [200.0]
    assert [r["fps"] for r in bench.find_all(rs, "tcp-raw", "1920x1080", 1,
                                             0, "yuv420p")] == [400.0]
    # Results from before pixel formats were recorded are bgr24.
    del rs[0]["pix_fmt"]
    assert len(bench.find_all(rs, "tcp-raw", "1920x1080", 1, 0)) == 1


def test_plot_data_tables(tmp_path):
    def case(path, size, subs, p50, disp):
        w, h = (int(x) for x in size.split("x"))
        return {"path": path, "size": size, "width": w, "height": h,
                "subs": subs, "fps_asked": 30, "fps": 30.0,
                "lat_p50_us": p50, "lat_p99_us": 2 * p50,
                "cpu_us_per_frame": {"display": disp, "total": 3 * disp,
                                     "capture": 50.0},
                "limits": {"memcpy_us": w * h / 10000.0}}
    results = [case("shm", "1920x1080", 1, 300, 40.0),
               case("shm", "1920x1080", 4, 320, 42.0),
               case("shm", "1280x720", 1, 290, 39.0),
               case("tcp-raw", "1920x1080", 1, 9000, 900.0),
               {"path": "shm", "size": "640x480", "subs": 1,
                "fps_asked": 30, "error": "boom"}]
    names = bench.write_plot_data(results, str(tmp_path))
    assert "lat_shm.dat" in names and "cpu_tcp-raw.dat" in names
    assert "cpushm_640x480.dat" not in names
    rows = [l.split() for l in (tmp_path / "lat_shm.dat").read_text()
            .splitlines() if not l.startswith("#")]
    assert [r[3] for r in rows] == ["1280x720", "1920x1080"]  # by size
    rows = [l.split() for l in (tmp_path / "cpu_shm.dat").read_text()
            .splitlines() if not l.startswith("#")]
    assert rows == [["1", "40.0", "120.0"], ["4", "42.0", "126.0"]]
    assert (tmp_path / "memcpy_1920x1080.dat").exists()


def test_unknown_path_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        bench.main(["--paths", "shm,carrier-pigeon", "--no-limits"])
    assert e.value.code == 2
    assert "carrier-pigeon" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists(os.path.join(BIN, "vidpipe-limits")),
                    reason="bin/vidpipe-limits not built")
def test_limits_prints_json_and_rejects_bad_sizes():
    exe = os.path.join(BIN, "vidpipe-limits")
    r = subprocess.run([exe, "--size", "64x48", "--no-zmq"],
                       stdout=subprocess.PIPE, check=True)
    out = json.loads(r.stdout)
    assert out["bytes"] == 64 * 48 * 3 and out["memcpy_us"] >= 0
    for bad in (["--size", "64"], ["--size", "0x48"], [],
                ["--size", "64x48", "--only", "tcp_lat_p50_us,nope"],
                ["--size", "64x48", "--only", ""]):
        assert subprocess.run([exe] + bad, stderr=subprocess.DEVNULL)\
            .returncode == 2


@pytest.mark.skipif(not os.path.exists(os.path.join(BIN, "vidpipe-limits")),
                    reason="bin/vidpipe-limits not built")
def test_limits_plain_tcp_floor_moves_frames():
    """The plain TCP figures (direct, and through the cut-through
    forwarder) are medians of frames that arrived whole: none at all
    would make them -1.  --only measures just what it names."""
    exe = os.path.join(BIN, "vidpipe-limits")
    r = subprocess.run([exe, "--size", "320x240", "--reps", "1", "--only",
                        "tcp_lat_p50_us,tcp_cut_lat_p50_us"],
                       stdout=subprocess.PIPE, check=True, timeout=30)
    out = json.loads(r.stdout)
    for k in ("tcp_lat_p50_us", "tcp_cut_lat_p50_us"):
        assert out[k] > 0 and out[k + "_runs"] == [out[k]], out
    assert not any(k.startswith("zmq_tcp") for k in out), out


def test_targets_judged_from_results():
    def case(path, size, subs, fps, p50, disp=300.0, got=30.0, lim=None):
        return {"path": path, "size": size, "subs": subs, "fps_asked": fps,
                "fps": got, "lat_p50_us": p50,
                "cpu_us_per_frame": {"display": disp}, "limits": lim or {}}
    results = [case("shm", "1280x720", 1, 30, 400, disp=300.0),
               case("shm", "3840x2160", 1, 30, 700, disp=310.0),
               case("shm", "1920x1080", 1, 30, 450, disp=290.0),
               case("tcp-raw", "1920x1080", 1, 30, 9000),
               case("tcp-raw", "1920x1080", 1, 0, 50000, got=90.0,
                    lim={"zmq_tcp_fps": 100.0, "zmq_tcp2_fps": 60.0})]
    got = {name.split(" (")[0]: (fig, met)
           for name, fig, met in bench.targets(results)}
    assert got["shm p50 flat in frame size"][1] is False  # 1.75 x
    assert got["shm p50 >= 20 x below tcp-raw at 1080p"][1] is True
    fig, met = got["tcp-raw 1080p unpaced >= 80 % of libzmq"]
    assert met is True and "90 %" in fig
    fig, met = got["tcp-raw 1080p unpaced >= 80 % of libzmq through a "
                   "forwarding hop"]
    assert met is True and "150 %" in fig
    slow = results[:-1] + [case("tcp-raw", "1920x1080", 1, 0, 50000,
                                got=90.0, lim={"zmq_tcp_fps": 100.0,
                                               "zmq_tcp2_fps": 200.0})]
    got = {name.split(" (")[0]: (fig, met)
           for name, fig, met in bench.targets(slow)}
    fig, met = got["tcp-raw 1080p unpaced >= 80 % of libzmq through a "
                   "forwarding hop"]
    assert met is False and "45 %" in fig
    assert got["shm per-subscriber CPU independent of frame size"][1]
    assert [m for _, _, m in bench.targets([])] == [None] * 8


def test_stalled_neighbour_target():
    def case(got, drops, rep=1):
        return {"path": "tcp-stalled", "size": "1280x720", "subs": 1,
                "fps_asked": 30, "fps": got, "capture_fps": 30.0, "rep": rep,
                "displays": [{"name": "display1", "drops": drops}]}
    name = "a stopped subscriber costs the others nothing"

    def judged(results):
        return next((fig, met) for n, fig, met in bench.targets(results)
                    if n.startswith(name))
    fig, met = judged([case(30.0, 0), case(29.9, 0, 2), case(20.0, 9, 3)])
    assert met is True and "medians of 3 runs" in fig, fig
    assert judged([case(30.0, 2)])[1] is False
    assert judged([case(28.0, 0)])[1] is False


def test_targets_take_medians_of_repeated_runs_and_adjacent_limits():
    def case(path, fps, p50, got, zmq=None, rep=1):
        r = {"path": path, "size": "1920x1080", "subs": 1, "fps_asked": fps,
             "fps": got, "lat_p50_us": p50, "rep": rep,
             "cpu_us_per_frame": {}, "limits": {"zmq_tcp_fps": 1000.0}}
        if zmq:
            r["limits_adjacent"] = {"zmq_tcp_fps": zmq}
        return r
    results = [case("shm", 30, 400, 30.0), case("shm", 30, 9000, 30.0, rep=2),
               case("shm", 30, 500, 30.0, rep=3),
               case("tcp-raw", 30, 12000, 30.0),
               case("tcp-raw", 0, 0, 90.0, zmq=100.0),
               case("tcp-raw", 0, 0, 40.0, zmq=100.0, rep=2),
               case("tcp-raw", 0, 0, 85.0, zmq=100.0, rep=3)]
    got = {name.split(" (")[0]: (fig, met)
           for name, fig, met in bench.targets(results)}
    fig, met = got["shm p50 >= 20 x below tcp-raw at 1080p"]
    assert met is True and "24.0 x" in fig  # 12000 / median(400,500,9000)
    assert "medians of 1 and 3 runs" in fig
    fig, met = got["tcp-raw 1080p unpaced >= 80 % of libzmq"]
    assert met is True and "= 85 %" in fig  # against the adjacent 100
    assert "90 %, 40 %, 85 %" in fig


def by_name(results):
    return {name.split(" (")[0]: (fig, met)
            for name, fig, met in bench.targets(results)}


def lat_case(path, size, p50, p99, rep=1):
    return {"path": path, "size": size, "subs": 1, "fps_asked": 30,
            "fps": 30.0, "lat_p50_us": p50, "lat_p99_us": p99, "rep": rep,
            "cpu_us_per_frame": {}, "limits": {}}


SHM_BOUND = "shm p50 <= 200 us and p99 <= 2000 us at 720p, 1080p, 4K"
RELAY_BOUND = "shm-relay" + SHM_BOUND[3:]


def test_shm_latency_bounds_met_at_every_size():
    results = [lat_case("shm", "1280x720", 150, 1200),
               lat_case("shm", "1920x1080", 180, 1900),
               lat_case("shm", "3840x2160", 200, 2000),   # on the bound
               lat_case("shm-relay", "1280x720", 190, 1500),
               lat_case("shm-relay", "1920x1080", 199, 1999),
               lat_case("shm-relay", "3840x2160", 170, 1800)]
    got = by_name(results)
    fig, met = got[SHM_BOUND]
    assert met is True
    assert fig == "p50 / p99: 720p 150 / 1200 us, 1080p 180 / 1900 us, " \
        "4K 200 / 2000 us"
    assert got[RELAY_BOUND][1] is True


def test_shm_latency_bounds_missed_by_one_size_or_one_percentile():
    results = [lat_case("shm", "1280x720", 150, 1200),
               lat_case("shm", "1920x1080", 180, 2100),   # p99 over
               lat_case("shm", "3840x2160", 150, 1200),
               lat_case("shm-relay", "1280x720", 201, 1200),  # p50 over
               lat_case("shm-relay", "1920x1080", 150, 1200),
               lat_case("shm-relay", "3840x2160", 150, 1200)]
    got = by_name(results)
    assert got[SHM_BOUND][1] is False
    assert got[RELAY_BOUND][1] is False
    assert "720p 201 / 1200 us" in got[RELAY_BOUND][0]


def test_shm_latency_bounds_take_medians_and_want_every_size():
    results = [lat_case("shm", "1280x720", 150, 1200),
               lat_case("shm", "1280x720", 900, 9000, rep=2),  # an outlier
               lat_case("shm", "1280x720", 160, 1300, rep=3),
               lat_case("shm", "1920x1080", 150, 1200),
               lat_case("shm", "3840x2160", 150, 1200),
               lat_case("shm-relay", "1280x720", 150, 1200)]
    got = by_name(results)
    fig, met = got[SHM_BOUND]
    assert met is True and "720p 160 / 1300 us" in fig
    assert "medians of 3, 1 and 1 runs" in fig
    fig, met = got[RELAY_BOUND]
    assert met is None  # 1080p and 4K not measured
    assert "1080p not measured" in fig and "4K not measured" in fig
    results.append(lat_case("shm-relay", "1920x1080", 150, 5000))
    assert by_name(results)[RELAY_BOUND][1] is False  # missed all the same
    assert by_name([])[SHM_BOUND] == ("not measured", None)


FANOUT = "shm fan-out: 8 displays at 1080p 30 fps"


def fanout_case(cap=30.0, drops=(0,) * 8, torn=(0,) * 8, cpu=(400.0,) * 8,
                rep=1):
    displays = [{"name": "display%d" % (i + 1), "drops": d, "torn": t,
                 "cpu_us_per_frame": c}
                for i, (d, t, c) in enumerate(zip(drops, torn, cpu))]
    return {"path": "shm", "size": "1920x1080", "subs": 8, "fps_asked": 30,
            "fps": 30.0, "capture_fps": cap, "window_s": 10.0, "rep": rep,
            "lat_p50_us": 300, "lat_p99_us": 900,
            "drops": sum(drops), "torn": sum(torn),
            "cpu_us_per_frame": {"display": sum(cpu) / len(cpu),
                                 "display_max": max(cpu)},
            "displays": displays, "limits": {}}


def one_display(cpu=250.0, rep=1):
    r = lat_case("shm", "1920x1080", 150, 1200, rep=rep)
    r["cpu_us_per_frame"] = {"display": cpu, "display_max": cpu}
    return r


def test_fanout_met():
    fig, met = by_name([fanout_case(cpu=(300.0,) * 7 + (500.0,)),
                        one_display(250.0)])[FANOUT]
    assert met is True
    assert fig == "in 10.0 s: capture 30.0 fps; worst display 0 drops, " \
        "0 torn, 500 us/frame vs one display's 250 = 2.00 x"


@pytest.mark.parametrize("case", [
    fanout_case(cap=29.0),                            # capture fell behind
    fanout_case(drops=(0,) * 7 + (1,)),               # one display dropped
    fanout_case(torn=(2,) + (0,) * 7),                # one display tore
    fanout_case(cpu=(300.0,) * 7 + (510.0,)),         # one display > 2 x
])
def test_fanout_missed(case):
    fig, met = by_name([case, one_display(250.0)])[FANOUT]
    assert met is False


def test_fanout_takes_medians_of_the_worst_display():
    results = [fanout_case(drops=(0,) * 7 + (3,)),
               fanout_case(rep=2), fanout_case(rep=3),
               one_display(250.0), one_display(900.0, rep=2),
               one_display(260.0, rep=3)]
    fig, met = by_name(results)[FANOUT]
    assert met is True and "0 drops" in fig and "= 1.54 x" in fig
    assert "medians of 3 and 3 runs" in fig
    results = [fanout_case(drops=(0,) * 7 + (3,)),
               fanout_case(drops=(2,) + (0,) * 7, rep=2), fanout_case(rep=3),
               one_display(250.0)]
    fig, met = by_name(results)[FANOUT]
    assert met is False and "2 drops" in fig


def test_fanout_not_measured():
    assert by_name([one_display()])[FANOUT] == ("not measured", None)
    fig, met = by_name([fanout_case()])[FANOUT]     # no single display
    assert met is None and "one display's - = - x" in fig
    fig, met = by_name([fanout_case(cap=20.0)])[FANOUT]
    assert met is False                              # missed all the same


def test_quick_matrix_has_every_target_case():
    assert set(bench.TARGET_CASES) <= set(bench.QUICK)
    for size in bench.LAT_SIZES:
        for path in ("shm", "shm-relay"):
            assert (path, size, 1, 30) in bench.TARGET_CASES
    assert bench.FANOUT in bench.TARGET_CASES


def test_case_window():
    assert bench.case_window(bench.FANOUT, 1.5) == 10.0
    assert bench.case_window(("shm", "1920x1080", 1, 30), 1.5) == 1.5
    assert bench.case_window(bench.FANOUT, 1.5, explicit=2.0) == 2.0
    assert bench.window_text(bench.QUICK, 1.5) == \
        "1.5 s window each (10.0 s for shm 1920x1080 x8 30 fps)"
    assert bench.window_text(bench.QUICK, 1.5, 2.0) == "2.0 s window each"


@pytest.mark.parametrize("args", [["--report"], ["--plots"]])
def test_missing_results_file_is_one_message(tmp_path, args):
    missing = str(tmp_path / "none.json")
    argv = args + [missing] + ([str(tmp_path)] if args == ["--plots"] else [])
    with pytest.raises(SystemExit) as e:
        bench.main(argv)
    assert str(e.value).startswith("vidpipe-bench: cannot read " + missing)


# --- --gateway ---------------------------------------------------------------

def test_gateway_rates_stay_within_the_frame_budget():
    assert bench.gw_fps(1) == 30 and bench.gw_fps(8) == 30
    assert bench.gw_fps(32) == 7.5 and bench.gw_fps(64) == 3.75
    assert bench.gw_fps(64, budget=1920) == 30


def gw_case(cameras, watch, pct, kind="shm", viewers=0):
    return {"cameras": cameras, "watch_all": watch, "kind": kind,
            "viewers": viewers, "relay_cpu_pct": pct,
            "relay_cpu_pct_at_30fps": pct}


def test_gateway_summary_slopes_and_cameras_per_core():
    out = {"cameras": [gw_case(n, w, (2.0 if w else 0.01) * n)
                       for n in (1, 8, 32, 64) for w in (False, True)],
           "viewers": [gw_case(1, False, 5 + 0.5 * v, k, v)
                       for k in bench.GW_KINDS for v in (0, 1, 2, 4)]}
    sm = bench.gateway_summary(out)
    assert sm["pct_per_watched_camera"] == pytest.approx(2.0)
    assert sm["pct_per_idle_camera"] == pytest.approx(0.01)
    assert sm["cameras_per_core"] == 50
    for k in bench.GW_KINDS:
        assert sm["pct_per_%s_viewer" % k] == pytest.approx(0.5)
        assert sm["pct_first_%s_viewer" % k] == pytest.approx(0.5)
    assert bench.gw_slope([(1, 3.0)]) is None


def test_gateway_plot_tables(tmp_path):
    out = {"cameras": [gw_case(n, w, n * (2 if w else 1))
                       for n in (1, 8) for w in (False, True)],
           "viewers": [gw_case(1, False, v, "raw", v) for v in (0, 1)]}
    bench.gateway_plot_data(out, str(tmp_path))
    rows = (tmp_path / "gw_cameras.dat").read_text().splitlines()
    assert rows[1:] == ["1 1 2", "8 8 16"]  # idle as measured
    assert (tmp_path / "gw_viewers_raw.dat").read_text().splitlines()[1:] \
        == ["0 0", "1 1"]
    assert (tmp_path / "gw_viewers_shm.dat").read_text().splitlines() == [
        "# viewers relay_pct"]


def test_gateway_unknown_kind_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        bench.main(["--gateway", "--gw-kinds", "shm,smoke"])
    assert e.value.code == 2
    assert "unknown viewer kind smoke" in capsys.readouterr().err
