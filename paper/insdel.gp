# insdel.gp: insertion (left: the blurred image with the most relevant features put back first; high =
# good) and deletion (right: most relevant features removed first; low = good) on the target
# probability, mean ± standard error over the images as a band (Petsiuk et al. 2018).
# usage: gnuplot -e "data='results/mnist/plot'; out='results/mnist/figures'" paper/insdel.gp
load data.'/meta.gp'
if (!exists("have_insdel") || !have_insdel) { print "insdel.gp: no insertion/deletion data in ".data; exit }
set encoding utf8
f = data.'/insdel.dat'
set style fill transparent solid 0.12 noborder
# The `random` method dotted black without a band, as in pixelflip.gp (grey is the control's there).
isrand(n) = n eq "random"
lcol(n, c) = isrand(n) ? "#000000" : c
ldt(n) = isrand(n) ? 3 : 1
# How many images (those of pixel flipping, meta.gp).
nimg = exists("flip_images") ? sprintf("%d images", flip_images) : "all images"
set grid lc rgb "#dddddd"
set xlabel "features inserted / deleted (%)"
set ylabel "target probability (mean ± s.e.)"
set xrange [0:100]
set yrange [0:1]
do for [fmt in "png pdf"] {
    if (fmt eq "png") {
        set terminal pngcairo size 1300, 720 font "Sans,11"
    } else {
        set terminal pdfcairo size 7in, 3.9in font "Sans,7"
    }
    set output out.'/insdel.'.fmt
    set multiplot layout 1, 2 title sprintf("%s: insertion and deletion (%s, %s removal; mean ± s.e.)", dataset_title, nimg,\
        exists("flip_perturb") ? flip_perturb : "the") \
        noenhanced margins 0.07, 0.98, 0.34, 0.90 spacing 0.07, 0
    set key at screen 0.5, screen 0.015 center bottom horizontal maxrows 2 noenhanced samplen 2.5 reverse Left width 2
    set title "insertion from the blurred image (high = good)"
    plot for [i = 1:insdel_curves] f index (i - 1) using ($1 * 100):(isrand(insdel_name[i]) ? NaN : $2 - $3):($2 + $3) \
             with filledcurves lc rgb insdel_color[i] notitle, \
         for [i = 1:insdel_curves] f index (i - 1) using ($1 * 100):2 \
             with lines lw 2 dt ldt(insdel_name[i]) lc rgb lcol(insdel_name[i], insdel_color[i]) title insdel_name[i]
    unset key
    set title "deletion to the removal reference (low = good)"
    plot for [i = 1:insdel_curves] f index (i - 1) using ($1 * 100):(isrand(insdel_name[i]) ? NaN : $4 - $5):($4 + $5) \
             with filledcurves lc rgb insdel_color[i] notitle, \
         for [i = 1:insdel_curves] f index (i - 1) using ($1 * 100):4 \
             with lines lw 2 dt ldt(insdel_name[i]) lc rgb lcol(insdel_name[i], insdel_color[i]) notitle
    unset multiplot
    unset output
}
