# bench-plots.gp -- draw vidpipe-bench results (docs/BENCHMARKS.md).
#
# Reads the whitespace tables `vidpipe-bench --plots JSON OUTDIR` writes
# into datadir (see write_plot_data there), draws outdir/latency.png and
# outdir/cpu.png.  Run through vidpipe-bench, or by hand:
#   gnuplot -e "datadir='DIR'; outdir='docs/bench'" tools/bench-plots.gp

if (!exists("datadir")) datadir = "."
if (!exists("outdir")) outdir = "."

paths = "shm shm-relay chain pipe tcp-direct tcp-raw tcp-jpeg"
sizes = "640x480 1280x720 1920x1080 3840x2160"
have(f) = system(sprintf("test -s '%s' && echo 1 || echo 0", f)) eq "1"
dat(kind, name) = sprintf("%s/%s_%s.dat", datadir, kind, name)
# One colour per path, the same in every plot.
colour(i) = word("#1b9e77 #66a61e #7570b3 #e6ab02 #a6761d #d95f02 #e7298a", i)

set terminal pngcairo size 1000,620 font "DejaVu Sans,11"
set output outdir."/latency.png"
set title "Capture-to-display latency against frame size (30 fps, 1 subscriber)"
set logscale xy
set xlabel "frame size (BGR24)"
set ylabel "latency (us)"
set xtics ("640x480" 0.3072, "1280x720" 0.9216, "1920x1080" 2.0736, \
           "3840x2160" 8.2944)
set xrange [0.25:10]
set format y "10^{%T}"
set grid
set key top left
cmd = ""
do for [i=1:words(paths)] {
    p = word(paths, i)
    f = dat("lat", p)
    if (have(f)) {
        cmd = cmd.sprintf("'%s' u 1:2 w lp lw 2 pt 7 lc rgb '%s' t '%s p50', ", f, colour(i), p)
        cmd = cmd.sprintf("'%s' u 1:3 w lp lw 1 dt 2 pt 6 lc rgb '%s' t '%s p99', ", f, colour(i), p)
    }
}
f = datadir."/memcpy.dat"
if (have(f)) {
    cmd = cmd.sprintf("'%s' u 1:2 w lp lw 1 pt 2 lc rgb 'gray40' t 'one memcpy of the frame', ", f)
}
if (strlen(cmd) > 0) {
    eval("plot ".cmd[1:strlen(cmd)-2])
} else {
    set label 1 "no 30 fps, 1-subscriber cases in the results" at graph 0.3, 0.5
    plot 1 notitle lc rgb "white"
    unset label 1
}
unset output

set terminal pngcairo size 1500,520 font "DejaVu Sans,11"
set output outdir."/cpu.png"
unset logscale
unset xtics
set logscale x 2
set xtics (1, 2, 4, 8)
set xrange [0.8:10]
set format y "%g"
set logscale y
set xlabel "subscribers (displays)"
set multiplot layout 1,3 title "CPU time per frame (30 fps; process CPU clocks over the measured window)"

set title "each display, 1920x1080"
set ylabel "us per frame"
memcpy_ref = ""
f = datadir."/memcpy_1920x1080.dat"
if (have(f)) {
    memcpy_ref = sprintf("'%s' u 1:2 w l lw 1 dt 2 lc rgb 'gray40' t '1 memcpy of 1080p', ", f)
}
cmd = memcpy_ref
do for [i=1:words(paths)] {
    p = word(paths, i)
    f = dat("cpu", p)
    if (have(f)) {
        cmd = cmd.sprintf("'%s' u 1:2 w lp lw 2 pt 7 lc rgb '%s' t '%s', ", f, colour(i), p)
    }
}
if (strlen(cmd) > 0) { eval("plot ".cmd[1:strlen(cmd)-2]) } else { plot 1 notitle lc rgb "white" }

set title "all processes together, 1920x1080"
cmd = memcpy_ref
do for [i=1:words(paths)] {
    p = word(paths, i)
    f = dat("cpu", p)
    if (have(f)) {
        cmd = cmd.sprintf("'%s' u 1:3 w lp lw 2 pt 7 lc rgb '%s' t '%s', ", f, colour(i), p)
    }
}
if (strlen(cmd) > 0) { eval("plot ".cmd[1:strlen(cmd)-2]) } else { plot 1 notitle lc rgb "white" }

set title "each display on the shm path, by frame size"
scol(i) = word("#a6cee3 #1f78b4 #33a02c #e31a1c", i)
cmd = ""
do for [i=1:words(sizes)] {
    s = word(sizes, i)
    f = dat("cpushm", s)
    if (have(f)) {
        cmd = cmd.sprintf("'%s' u 1:2 w lp lw 2 pt 7 lc rgb '%s' t '%s', ", f, scol(i), s)
    }
}
if (strlen(cmd) > 0) { eval("plot ".cmd[1:strlen(cmd)-2]) } else { plot 1 notitle lc rgb "white" }
unset multiplot
unset output
