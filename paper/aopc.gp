# aopc.gp: AOPC of pixel flipping per method (bars) and dataset (groups), MoRF on top (higher =
# better), LeRF below (lower = better); error bars: standard error over images. The random-order
# control is hatched grey, apart from the `random` method (a random attribution map, solid grey).
# usage: gnuplot -e "data='results/plot'; out='results/figures'" paper/aopc.gp
# Reads data/meta.gp and data/aopc.dat (written by the cross-dataset export of xai_figures_all).
load data.'/meta.gp'
set encoding utf8
f = data.'/aopc.dat'
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.85 border rgb "#444444"
set boxwidth 0.9
set grid ytics lc rgb "#dddddd"
set yrange [*<0:*]   # 0 or below: AOPC can be negative when removal raises the logit
set xrange [-0.6:n_exps - 0.4]   # clusters sit at x = 0, 1, ...
set xtics nomirror scale 0
set key at screen 0.82, screen 0.88 left top vertical noenhanced samplen 1.5 reverse Left
do for [fmt in "png pdf"] {
    if (fmt eq "png") {
        set terminal pngcairo size 1300, 900 font "Sans,11"
    } else {
        set terminal pdfcairo size 7in, 4.85in font "Sans,7"
    }
    set output out.'/aopc.'.fmt
    set multiplot layout 2, 1 title "AOPC of pixel flipping on the target logit (mean ± s.e.)" \
        margins 0.08, 0.80, 0.06, 0.91 spacing 0, 0.1
    set title "MoRF: most relevant first (higher is better)"
    set ylabel "AOPC MoRF (logit)"
    plot f using 2:3:xtic(1) lc rgb "#555555" fs pattern 2 border rgb "#444444" title "random order (control)", \
         for [j = 2:n_methods] f using (column(4 * j - 2)):(column(4 * j - 1)):xtic(1) \
         lc rgb method_color[j] title method_name[j]
    unset key
    set title "LeRF: least relevant first (lower is better)"
    set ylabel "AOPC LeRF (logit)"
    plot f using 4:5:xtic(1) lc rgb "#555555" fs pattern 2 border rgb "#444444" notitle, \
         for [j = 2:n_methods] f using (column(4 * j)):(column(4 * j + 1)):xtic(1) lc rgb method_color[j] notitle
    unset multiplot
    unset output
    set key at screen 0.82, screen 0.88 left top vertical noenhanced samplen 1.5 reverse Left
}
