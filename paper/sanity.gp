# sanity.gp: the model-parameter randomisation cascade (Adebayo et al. 2018): similarity of each
# method's map to its map on the trained model while layers are randomised from the top, one line
# per method; left: Spearman |rank| correlation, right: SSIM (mean ± s.e. over images).
# usage: gnuplot -e "data='results/mnist/plot'; out='results/mnist/figures'" paper/sanity.gp
load data.'/meta.gp'
if (!exists("have_sanity") || !have_sanity) { print "sanity.gp: no randomisation data in ".data; exit }
set encoding utf8
f = data.'/sanity.dat'
set grid ytics lc rgb "#e5e5e5"
set xrange [-0.3:sanity_steps - 0.7]
set yrange [*:1.05]
set xlabel "randomised up to layer (from the top; none = trained model)"
set xtics rotate by 30 right
set key outside right top noenhanced samplen 2
# The `random` method dotted black, as in the other figures; the images in the title.
isrand(n) = n eq "random"
lcol(n, c) = isrand(n) ? "#000000" : c
ldt(n) = isrand(n) ? 3 : 1
nimg = exists("sanity_images") ? sprintf("%d images; ", sanity_images) : ""
do for [fmt in "png pdf"] {
    if (fmt eq "png") {
        set terminal pngcairo size 1500, 620 font "Sans,11"
    } else {
        set terminal pdfcairo size 9in, 3.7in font "Sans,7"
    }
    set output out.'/sanity.'.fmt
    set multiplot layout 1, 2 title sprintf("%s: model-parameter randomisation (%smean ± s.e.; a faithful map changes: lower is better)", \
        dataset_title, nimg) noenhanced
    set ylabel "Spearman |rank| correlation"
    unset key
    plot for [j = 1:n_sanity] f index (j - 1) using 1:3:4:xtic($2 < 0 ? "none" : sprintf("%d", $2)) \
         with yerrorlines lw 2 pt 7 ps 0.6 dt ldt(sanity_name[j]) lc rgb lcol(sanity_name[j], sanity_color[j]) \
         title sanity_name[j]
    set ylabel "SSIM"
    set key outside right top noenhanced samplen 2
    plot for [j = 1:n_sanity] f index (j - 1) using 1:5:6:xtic($2 < 0 ? "none" : sprintf("%d", $2)) \
         with yerrorlines lw 2 pt 7 ps 0.6 dt ldt(sanity_name[j]) lc rgb lcol(sanity_name[j], sanity_color[j]) \
         title sanity_name[j]
    unset multiplot
    unset output
}
