# bench-gateway.gp -- draw vidpipe-bench --gateway results
# (docs/BENCHMARKS.md, "Gateway").
#
# Reads gw_cameras.dat and gw_viewers_KIND.dat from datadir (written by
# vidpipe-bench --gateway --gw-plot OUTDIR), draws outdir/gateway.png:
# the relay's CPU against cameras, and against viewers of each kind.

if (!exists("datadir")) datadir = "."
if (!exists("outdir")) outdir = "."
kinds = "shm raw jpeg h264 mjpeg"
colour(i) = word("#1b9e77 #d95f02 #7570b3 #e7298a #66a61e", i)

set terminal pngcairo size 1400,560 font "DejaVu Sans,11"
set output outdir."/gateway.png"
set multiplot layout 1,2
set grid
set key top left
set title "Relay CPU against 1280x720 cameras (watched: scaled to 30 fps)"
set xlabel "cameras"
set ylabel "relay CPU (% of one core)"
set xrange [0:68]
set yrange [0:*]
plot datadir."/gw_cameras.dat" u 1:3 w lp lw 2 pt 7 lc rgb "#d95f02" \
         t "one shm display of every stream", \
     datadir."/gw_cameras.dat" u 1:2 w lp lw 2 pt 5 lc rgb "#1b9e77" \
         t "nobody watching"
set title "Relay CPU against viewers of one 1280x720 30 fps camera"
set xlabel "viewers of one kind"
set xrange [-0.2:4.2]
set xtics 1
cmd = ""
do for [i=1:words(kinds)] {
    k = word(kinds, i)
    cmd = cmd.sprintf("'%s/gw_viewers_%s.dat' u 1:2 w lp lw 2 pt 7 lc rgb '%s' t '%s', ", datadir, k, colour(i), k)
}
eval("plot ".cmd[1:strlen(cmd)-2])
unset multiplot
unset output
