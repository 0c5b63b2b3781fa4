# pixelflip.gp: pixel-flipping curves of one dataset: the target logit while features are removed
# most relevant first (MoRF, left) and least relevant first (LeRF, right), mean ± standard error
# over the images as a band; the random order (dashed grey) is the control in both panels.
# usage: gnuplot -e "data='results/mnist/plot'; out='results/mnist/figures'" paper/pixelflip.gp
load data.'/meta.gp'
if (!exists("have_pixelflip") || !have_pixelflip) { print "pixelflip.gp: no pixel-flipping data in ".data; exit }
set encoding utf8
f = data.'/pixelflip.dat'
dtype(i) = i == 1 ? 2 : 1   # the control is dashed
set style fill transparent solid 0.18 noborder
set grid lc rgb "#dddddd"
set xlabel "features removed (%)"
set ylabel "target logit (mean ± s.e.)"
set xrange [0:*]
do for [fmt in "png pdf"] {
    if (fmt eq "png") {
        set terminal pngcairo size 1300, 720 font "Sans,11"
    } else {
        set terminal pdfcairo size 7in, 3.9in font "Sans,7"
    }
    set output out.'/pixelflip.'.fmt
    set multiplot layout 1, 2 \
        title sprintf("%s: pixel flipping (%d images, %s perturbation)", dataset_title, flip_images, flip_perturb) \
        noenhanced margins 0.07, 0.98, 0.34, 0.90 spacing 0.07, 0
    set key at screen 0.5, screen 0.015 center bottom horizontal maxrows 2 noenhanced samplen 2.5 reverse Left width 2
    set title "MoRF: most relevant features first (steep drop = good)"
    plot for [i = 1:n_curves] f index (i - 1) using ($1 * 100):($2 - $3):($2 + $3) \
             with filledcurves lc rgb curve_color[i] notitle, \
         for [i = 1:n_curves] f index (i - 1) using ($1 * 100):2 \
             with lines lw 2 dt dtype(i) lc rgb curve_color[i] title (i == 1 ? "random order" : curve_name[i])
    unset key
    set title "LeRF: least relevant features first (flat = good)"
    plot for [i = 1:n_curves] f index (i - 1) using ($1 * 100):($4 - $5):($4 + $5) \
             with filledcurves lc rgb curve_color[i] notitle, \
         for [i = 1:n_curves] f index (i - 1) using ($1 * 100):4 \
             with lines lw 2 dt dtype(i) lc rgb curve_color[i] notitle
    unset multiplot
    unset output
}
