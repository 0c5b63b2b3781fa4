# runtime.gp: wall time per attribution of each method (bars) and dataset (groups), log scale.
# usage: gnuplot -e "data='results/plot'; out='results/figures'" paper/runtime.gp
# Reads data/meta.gp and data/runtime.dat (method j of meta.gp is column j; j = 1 is the control).
# The value labels stand upright on their bars, so neighbours of similar height never overlap.
load data.'/meta.gp'
set encoding utf8
f = data.'/runtime.dat'
set style data histograms
set style histogram clustered gap 2
set style fill solid 0.85 border rgb "#444444"
set boxwidth 0.9
set logscale y
set format y "10^{%L}"
set grid ytics mytics lc rgb "#dddddd", lc rgb "#f0f0f0"
set xtics nomirror scale 0
set ylabel "milliseconds per attribution"
set key at screen 0.82, screen 0.88 left top vertical noenhanced samplen 1.5 reverse Left
set xrange [-0.6:n_exps - 0.4]   # clusters sit at x = 0, 1, ...
# Centre of bar k of nb in a cluster (histogram gap 2): x = cluster + (k - (nb + 1) / 2) / (nb + 2).
nb = n_methods - 1
msfmt(v) = v >= 1000 ? sprintf("%.0f", v) : sprintf("%.3g", v)   # 1234, never 1.23e+03
barx(i, j) = i + (j - 1 - (nb + 1) / 2.0) / (nb + 2.0)
# Headroom above the tallest bar for its upright label (log axis: a factor).
ymax = 0
do for [j = 2:n_methods] {
    stats f using j name "T" nooutput
    if (exists("T_max") && T_max > ymax) { ymax = T_max }
    undefine T_*
}
if (ymax > 0) { set yrange [*:ymax * 6] }
do for [fmt in "png pdf"] {
    if (fmt eq "png") {
        set terminal pngcairo size 1300, 560 font "Sans,11"
    } else {
        set terminal pdfcairo size 7in, 3in font "Sans,7"
    }
    set output out.'/runtime.'.fmt
    set title "Wall time per attribution"
    set lmargin at screen 0.08
    set rmargin at screen 0.80
    plot for [j = 2:n_methods] f using (column(j)):xtic(1) lc rgb method_color[j] title method_name[j], \
         for [j = 2:n_methods] f using (barx($0, j)):(column(j)):(msfmt(column(j))) \
             with labels rotate by 90 left offset 0, 0.4 font ",9" notitle
    unset output
}
