# sensn.gp: sensitivity-n (Ancona et al. 2018): Pearson correlation between the attribution summed
# over n random features and the drop of the target logit when they are removed, against n (log
# scale), mean ± standard error over the images as a band; 1 is perfect.
# usage: gnuplot -e "data='results/mnist/plot'; out='results/mnist/figures'" paper/sensn.gp
load data.'/meta.gp'
if (!exists("have_sensn") || !have_sensn) { print "sensn.gp: no sensitivity-n data in ".data; exit }
set encoding utf8
f = data.'/sensn.dat'
set style fill transparent solid 0.12 noborder
# The `random` method dotted black without a band, as in pixelflip.gp (grey is the control's there).
isrand(n) = n eq "random"
lcol(n, c) = isrand(n) ? "#000000" : c
ldt(n) = isrand(n) ? 3 : 1
# How many images (those of pixel flipping, meta.gp).
nimg = exists("flip_images") ? sprintf("%d images", flip_images) : "all images"
set grid lc rgb "#dddddd"
set logscale x 2
set xlabel "features removed together (n)"
set ylabel "Pearson correlation (mean ± s.e.)"
# From -0.2 at least, lower when a curve goes there (never clipped).
set yrange [-1.05 < * < -0.2 : 1.05]
do for [fmt in "png pdf"] {
    if (fmt eq "png") {
        set terminal pngcairo size 900, 640 font "Sans,11"
    } else {
        set terminal pdfcairo size 5in, 3.6in font "Sans,7"
    }
    set output out.'/sensn.'.fmt
    set title sprintf("%s: sensitivity-n (%s; mean ± s.e.)", dataset_title, nimg) noenhanced
    set key outside right top noenhanced samplen 2.5
    plot for [i = 1:sensn_curves] f index (i - 1) using 1:(isrand(sensn_name[i]) ? NaN : $2 - $3):($2 + $3) \
             with filledcurves lc rgb sensn_color[i] notitle, \
         for [i = 1:sensn_curves] f index (i - 1) using 1:2 with linespoints pt 7 ps 0.6 lw 2 \
             dt ldt(sensn_name[i]) lc rgb lcol(sensn_name[i], sensn_color[i]) title sensn_name[i]
    unset output
}
