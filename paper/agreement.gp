# agreement.gp: do the metrics agree on which method is most faithful? Kendall tau-b between the
# method rankings of every pair of metrics (/stats/kendall_tau of metrics.h5), as a coloured matrix.
# usage: gnuplot -e "data='results/mnist/plot'; out='results/mnist/figures'" paper/agreement.gp
load data.'/meta.gp'
if (!exists("have_agreement") || !have_agreement) { print "agreement.gp: no metric agreement data in ".data; exit }
set encoding utf8
f = data.'/agreement.dat'
set palette defined (-1 "#2166ac", 0 "#f7f7f7", 1 "#b2182b")
set cbrange [-1:1]
set cblabel "Kendall tau-b"
set xrange [-0.5:n_metrics - 0.5]
set yrange [n_metrics - 0.5:-0.5]
set xtics rotate by 35 right noenhanced
set ytics noenhanced
set for [i = 1:n_metrics] xtics add (metric_name[i] i - 1)
set for [i = 1:n_metrics] ytics add (metric_name[i] i - 1)
set size ratio -1
set tics scale 0
unset key
do for [fmt in "png pdf"] {
    if (fmt eq "png") {
        set terminal pngcairo size 900, 800 font "Sans,11"
    } else {
        set terminal pdfcairo size 5in, 4.5in font "Sans,7"
    }
    set output out.'/agreement.'.fmt
    set title sprintf("%s: agreement between metrics (Kendall tau-b of the rankings of %s)", dataset_title, \
        exists("agreement_methods") ? sprintf("%d methods", agreement_methods) : "the methods") noenhanced
    plot f matrix with image, \
         f matrix using 1:2:(sprintf("%.2f", $3)) with labels font ",9"
    unset output
}
