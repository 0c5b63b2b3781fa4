# road.gp: ROAD (Rong et al. 2022): removed pixels imputed from their neighbours plus noise; MoRF
# (left: most relevant pixels first, low = good) and LeRF (right: least relevant first, high = good)
# on the target probability at 0-90 % removal, mean ± standard error over the images as a band.
# usage: gnuplot -e "data='results/mnist/plot'; out='results/mnist/figures'" paper/road.gp
load data.'/meta.gp'
if (!exists("have_road") || !have_road) { print "road.gp: no ROAD data in ".data; exit }
set encoding utf8
f = data.'/road.dat'
set style fill transparent solid 0.12 noborder
# The `random` method dotted black without a band, as in pixelflip.gp (grey is the control's there).
isrand(n) = n eq "random"
lcol(n, c) = isrand(n) ? "#000000" : c
ldt(n) = isrand(n) ? 3 : 1
# How many images (those of pixel flipping, meta.gp).
nimg = exists("flip_images") ? sprintf("%d images", flip_images) : "all images"
set grid lc rgb "#dddddd"
set xlabel "pixels removed and imputed (%)"
set ylabel "target probability (mean ± s.e.)"
set xrange [0:90]
set yrange [0:1]
do for [fmt in "png pdf"] {
    if (fmt eq "png") {
        set terminal pngcairo size 1300, 720 font "Sans,11"
    } else {
        set terminal pdfcairo size 7in, 3.9in font "Sans,7"
    }
    set output out.'/road.'.fmt
    set multiplot layout 1, 2 title sprintf("%s: ROAD, noisy linear imputation (%s; mean ± s.e.)", dataset_title, nimg) \
        noenhanced margins 0.07, 0.98, 0.34, 0.90 spacing 0.07, 0
    set key at screen 0.5, screen 0.015 center bottom horizontal maxrows 2 noenhanced samplen 2.5 reverse Left width 2
    set title "MoRF: most relevant pixels first (low = good)"
    plot for [i = 1:road_curves] f index (i - 1) using ($1 * 100):(isrand(road_name[i]) ? NaN : $2 - $3):($2 + $3) \
             with filledcurves lc rgb road_color[i] notitle, \
         for [i = 1:road_curves] f index (i - 1) using ($1 * 100):2 \
             with lines lw 2 dt ldt(road_name[i]) lc rgb lcol(road_name[i], road_color[i]) title road_name[i]
    unset key
    set title "LeRF: least relevant pixels first (high = good)"
    plot for [i = 1:road_curves] f index (i - 1) using ($1 * 100):(isrand(road_name[i]) ? NaN : $4 - $5):($4 + $5) \
             with filledcurves lc rgb road_color[i] notitle, \
         for [i = 1:road_curves] f index (i - 1) using ($1 * 100):4 \
             with lines lw 2 dt ldt(road_name[i]) lc rgb lcol(road_name[i], road_color[i]) notitle
    unset multiplot
    unset output
}
