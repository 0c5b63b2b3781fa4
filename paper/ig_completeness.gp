# ig_completeness.gp: Integrated Gradients completeness error against the number of integration
# steps, one line per quadrature rule (median over images; dashed: 90th percentile), log-log.
# usage: gnuplot -e "data='results/mnist/plot'; out='results/mnist/figures'" paper/ig_completeness.gp
load data.'/meta.gp'
if (!exists("have_ig_steps") || !have_ig_steps) { print "ig_completeness.gp: no IG step data in ".data; exit }
set encoding utf8
f = data.'/ig_completeness.dat'
set logscale xy
set grid xtics ytics mxtics mytics lc rgb "#e5e5e5", lc rgb "#f2f2f2"
set xlabel "integration steps"
set ylabel "relative error |Σ R − (f(x) − f(x'))| / |f(x) − f(x')|"
set format y "10^{%L}"
set key top right noenhanced
do for [fmt in "png pdf"] {
    if (fmt eq "png") {
        set terminal pngcairo size 900, 640 font "Sans,11"
    } else {
        set terminal pdfcairo size 5in, 3.55in font "Sans,8"
    }
    set output out.'/ig_completeness.'.fmt
    set title sprintf("%s: IG completeness vs steps (%s baseline)", dataset_title, ig_baseline) noenhanced
    # Exact zeros cannot be shown on a log axis: they are left out.
    plot for [i = 1:n_rules] f index (i - 1) using 1:($2 > 0 ? $2 : 1/0) \
             with linespoints lw 2 pt 7 ps 0.9 lc rgb rule_color[i] title rule_name[i], \
         for [i = 1:n_rules] f index (i - 1) using 1:($3 > 0 ? $3 : 1/0) \
             with lines lw 1 dt 2 lc rgb rule_color[i] notitle, \
         NaN with lines lw 1 dt 2 lc rgb "#555555" title "90th percentile"
    unset output
}
