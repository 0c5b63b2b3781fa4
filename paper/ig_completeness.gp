# ig_completeness.gp: Integrated Gradients error against the number of integration steps, one line
# per quadrature rule (median over images; dashed: 90th percentile), log-log. With an exact-IG
# reference (have_ig_exact) a second panel shows the map error against exact IG, keyed by the
# observed convergence order of each rule.
# usage: gnuplot -e "data='results/mnist/plot'; out='results/mnist/figures'" paper/ig_completeness.gp
load data.'/meta.gp'
if (!exists("have_ig_steps") || !have_ig_steps) { print "ig_completeness.gp: no IG step data in ".data; exit }
if (!exists("have_ig_exact")) { have_ig_exact = 0 }
set encoding utf8
f = data.'/ig_completeness.dat'
g = data.'/ig_map_error.dat'
set logscale xy
set grid xtics ytics mxtics mytics lc rgb "#e5e5e5", lc rgb "#f2f2f2"
set xlabel "integration steps"
set format y "10^{%L}"
set key top right noenhanced
# How many images have the exact reference (with --ig-exact-n, fewer than the curve's).
nimg = exists("ig_exact_images") ? sprintf("%d images; ", ig_exact_images) : ""
do for [fmt in "png pdf"] {
    if (fmt eq "png") {
        set terminal pngcairo size (have_ig_exact ? 1600 : 900), 640 font "Sans,11"
    } else {
        set terminal pdfcairo size (have_ig_exact ? 9 : 5)*1in, 3.55in font "Sans,8"
    }
    set output out.'/ig_completeness.'.fmt
    if (have_ig_exact) {
        set multiplot layout 1, 2 title sprintf("%s: IG vs steps (%s baseline)", dataset_title, ig_baseline) noenhanced
        set title "completeness error" noenhanced
    } else {
        set title sprintf("%s: IG completeness vs steps (%s baseline)", dataset_title, ig_baseline) noenhanced
    }
    set ylabel "relative error |Σ R − (f(x) − f(x'))| / |f(x) − f(x')|"
    # Exact zeros cannot be shown on a log axis: they are left out.
    plot for [i = 1:n_rules] f index (i - 1) using 1:($2 > 0 ? $2 : 1/0) \
             with linespoints lw 2 pt 7 ps 0.9 lc rgb rule_color[i] title rule_name[i], \
         for [i = 1:n_rules] f index (i - 1) using 1:($3 > 0 ? $3 : 1/0) \
             with lines lw 1 dt 2 lc rgb rule_color[i] notitle, \
         NaN with lines lw 1 dt 2 lc rgb "#555555" title "90th percentile"
    if (have_ig_exact) {
        set title sprintf("map error against exact IG (%skey: observed order)", nimg) noenhanced
        set ylabel "relative L2 error ‖R_n − R_{exact}‖ / ‖R_{exact}‖"
        plot for [i = 1:n_rules] g index (i - 1) using 1:($2 > 0 ? $2 : 1/0) \
                 with linespoints lw 2 pt 7 ps 0.9 lc rgb rule_color[i] \
                 title sprintf("%s (%.2f)", rule_name[i], rule_order[i]), \
             for [i = 1:n_rules] g index (i - 1) using 1:($3 > 0 ? $3 : 1/0) \
                 with lines lw 1 dt 2 lc rgb rule_color[i] notitle, \
             0.01 with lines lw 1 dt 3 lc rgb "#999999" title "1 %"
        unset multiplot
    }
    unset output
}
