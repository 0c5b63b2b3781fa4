# pixelflip.gp: pixel-flipping curves of one dataset as small multiples: one row per family of
# methods (IG, LRP, gradient and the rest), MoRF left (most relevant features first) and LeRF right
# (least relevant first); the target logit, mean ± standard error over the images as a band. Every
# panel carries the control, the random order (thick dashed grey); the `random` method (a random
# attribution map, dotted black) is drawn with the gradient family.
# usage: gnuplot -e "data='results/mnist/plot'; out='results/mnist/figures'" paper/pixelflip.gp
load data.'/meta.gp'
if (!exists("have_pixelflip") || !have_pixelflip) { print "pixelflip.gp: no pixel-flipping data in ".data; exit }
set encoding utf8
f = data.'/pixelflip.dat'
# Family of curve i (1 is the control): 1 IG, 2 LRP, 3 the rest.
family(i) = curve_name[i][1:3] eq "lrp" ? 2 : curve_name[i][1:2] eq "ig" ? 1 : 3
array members[3]
do for [g = 1:3] { members[g] = "" }
do for [i = 2:n_curves] { members[family(i)] = members[family(i)].sprintf(" %d", i) }
rows = ""
do for [g = 1:3] { if (words(members[g]) > 0) { rows = rows.sprintf(" %d", g) } }
nrows = words(rows)
isrand(i) = curve_name[i] eq "random"
lcol(i) = isrand(i) ? "#000000" : curve_color[i]
ldt(i) = isrand(i) ? 3 : 1
set style fill transparent solid 0.15 noborder
set grid lc rgb "#e5e5e5"
set xrange [0:*]
# One y range for every panel (mean ± s.e. of all curves), so that rows and sides compare.
stats f using ($2 - $3) name "A" nooutput
stats f using ($2 + $3) name "B" nooutput
stats f using ($4 - $5) name "C" nooutput
stats f using ($4 + $5) name "D" nooutput
ylo = A_min < C_min ? A_min : C_min
yhi = B_max > D_max ? B_max : D_max
pad = 0.04 * (yhi - ylo)
set yrange [ylo - pad : yhi + pad]
set ylabel "target logit"
do for [fmt in "png pdf"] {
    if (fmt eq "png") {
        set terminal pngcairo size 1300, 120 + 330 * nrows font "Sans,11"
    } else {
        set terminal pdfcairo size 7in, (0.7 + 1.9 * nrows) * 1in font "Sans,7"
    }
    set output out.'/pixelflip.'.fmt
    set multiplot layout nrows, 2 \
        title sprintf("%s: pixel flipping (%d images, %s perturbation; mean ± s.e.)", dataset_title, flip_images, \
                      flip_perturb) noenhanced margins 0.07, 0.80, 0.08, 0.92 spacing 0.06, 0.07
    do for [r = 1:nrows] {
        g = int(word(rows, r))
        m = members[g]
        set xlabel (r == nrows ? "features removed (%)" : "")
        do for [side = 0:1] {
            col = side == 0 ? 2 : 4
            set title (side == 0 ? "MoRF, steep drop = good" : "LeRF, flat = good")
            if (side == 1) {
                set key outside right top vertical noenhanced samplen 2.5 reverse Left width 1 \
                    title "{/:Bold ".(g == 1 ? "IG" : g == 2 ? "LRP" : "gradient, other")."}" enhanced
            } else {
                unset key
            }
            plot f index 0 using ($1 * 100):(column(col) - column(col + 1)):(column(col) + column(col + 1)) \
                     with filledcurves lc rgb "#7f7f7f" notitle, \
                 for [k = 1:words(m)] f index (int(word(m, k)) - 1) \
                     using ($1 * 100):(column(col) - column(col + 1)):(column(col) + column(col + 1)) \
                     with filledcurves lc rgb curve_color[int(word(m, k))] notitle, \
                 f index 0 using ($1 * 100):col with lines lw 3 dt 2 lc rgb "#7f7f7f" title "random order (control)", \
                 for [k = 1:words(m)] f index (int(word(m, k)) - 1) using ($1 * 100):col with lines lw 2 \
                     dt ldt(int(word(m, k))) lc rgb lcol(int(word(m, k))) title curve_name[int(word(m, k))]
        }
    }
    unset multiplot
    unset output
}
