# sensn.gp: sensitivity-n (Ancona et al. 2018): Pearson correlation between the attribution summed
# over n random features and the drop of the target logit when they are removed, against n (log
# scale), mean ± standard error over the images as a band; 1 is perfect.
# usage: gnuplot -e "data='results/mnist/plot'; out='results/mnist/figures'" paper/sensn.gp
load data.'/meta.gp'
if (!exists("have_sensn") || !have_sensn) { print "sensn.gp: no sensitivity-n data in ".data; exit }
set encoding utf8
f = data.'/sensn.dat'
set style fill transparent solid 0.18 noborder
set grid lc rgb "#dddddd"
set logscale x 2
set xlabel "features removed together (n)"
set ylabel "Pearson correlation (mean ± s.e.)"
set yrange [-0.2:1.05]
do for [fmt in "png pdf"] {
    if (fmt eq "png") {
        set terminal pngcairo size 900, 640 font "Sans,11"
    } else {
        set terminal pdfcairo size 5in, 3.6in font "Sans,7"
    }
    set output out.'/sensn.'.fmt
    set title sprintf("%s: sensitivity-n", dataset_title) noenhanced
    set key outside right top noenhanced samplen 2.5
    plot for [i = 1:sensn_curves] f index (i - 1) using 1:($2 - $3):($2 + $3) \
             with filledcurves lc rgb sensn_color[i] notitle, \
         for [i = 1:sensn_curves] f index (i - 1) using 1:2 with linespoints pt 7 ps 0.6 lw 2 lc rgb sensn_color[i] \
             title sensn_name[i]
    unset output
}
