# training.gp: training curves of one dataset: loss (left) and accuracy (right) per epoch on the
# training and validation splits; the dashed line is the test accuracy of the kept weights. The
# keys sit below the panels, where they cover no curve: train and validation (the same styles in
# both panels) under the loss, the test accuracy under the accuracy.
# usage: gnuplot -e "data='results/mnist/plot'; out='results/mnist/figures'" paper/training.gp
load data.'/meta.gp'
if (!exists("have_training") || !have_training) { print "training.gp: no training history in ".data; exit }
set encoding utf8
f = data.'/training.dat'
ctrain = "#1f77b4"; cval = "#ff7f0e"; ctest = "#2ca02c"
set grid lc rgb "#dddddd"
set xlabel "epoch"
xstep = n_epochs <= 12 ? 1 : n_epochs <= 60 ? 5 : 10   # whole epochs
set xtics xstep
if (n_epochs == 1) { set xrange [0.5:1.5] }   # a single point has no range of its own
set mxtics 1
set offsets 0, 0, graph 0.05, graph 0.05   # points on the first or last value stay off the frame
set key noenhanced
do for [fmt in "png pdf"] {
    if (fmt eq "png") {
        set terminal pngcairo size 1200, 540 font "Sans,11"
    } else {
        set terminal pdfcairo size 7in, 3.1in font "Sans,7"
    }
    set output out.'/training.'.fmt
    set multiplot layout 1, 2 title dataset_title.": training curves" noenhanced \
        margins 0.07, 0.98, 0.22, 0.86 spacing 0.08, 0
    set title "cross-entropy loss"
    set ylabel "loss"
    set key at graph 0.5, screen 0.02 center bottom horizontal maxrows 1 samplen 3 width 2
    if (col_train_loss > 0 && col_val_loss > 0) {
        plot f using (column(col_epoch)):(column(col_train_loss)) with linespoints lw 2 pt 7 ps 0.6 lc rgb ctrain title "train", \
             f using (column(col_epoch)):(column(col_val_loss)) with linespoints lw 2 pt 5 ps 0.6 lc rgb cval title "validation"
    } else {
        plot f using (column(col_epoch)):(column(col_train_loss > 0 ? col_train_loss : col_val_loss)) \
             with linespoints lw 2 pt 7 ps 0.6 lc rgb ctrain title (col_train_loss > 0 ? "train" : "validation")
    }
    set title "accuracy"
    set ylabel "accuracy (%)"
    set key at graph 0.5, screen 0.02 center bottom horizontal maxrows 1 samplen 3 width 2
    tlabel = (test_acc == test_acc) ? sprintf("test (kept weights): %.2f %%", 100 * test_acc) : ""
    if (col_train_acc > 0 && col_val_acc > 0) {
        plot f using (column(col_epoch)):(100 * column(col_train_acc)) with linespoints lw 2 pt 7 ps 0.6 lc rgb ctrain notitle, \
             f using (column(col_epoch)):(100 * column(col_val_acc)) with linespoints lw 2 pt 5 ps 0.6 lc rgb cval notitle, \
             (test_acc == test_acc ? 100 * test_acc : NaN) with lines lw 1.5 dt 2 lc rgb ctest title tlabel
    } else {
        plot f using (column(col_epoch)):(100 * column(col_train_acc > 0 ? col_train_acc : col_val_acc)) \
             with linespoints lw 2 pt 7 ps 0.6 lc rgb ctrain notitle, \
             (test_acc == test_acc ? 100 * test_acc : NaN) with lines lw 1.5 dt 2 lc rgb ctest title tlabel
    }
    unset multiplot
    unset output
}
