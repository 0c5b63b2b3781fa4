# heatmaps.gp: figure 1, example test images (rows) and their relevance maps (columns: input, then
# each method), red positive, blue negative, white zero, every map scaled by its own max |R|.
# usage: gnuplot -e "data='results/mnist/plot'; out='results/mnist/figures'" paper/heatmaps.gp
# Reads data/meta.gp, data/input_<r>.dat and data/heatmap_<r>_<tag>.dat (written by `xai export`).
load data.'/meta.gp'
if (!exists("have_heatmaps") || !have_heatmaps) { print "heatmaps.gp: no heatmap data in ".data; exit }
set encoding utf8
ncol = n_maps + 1
# Column titles: "ig" -> "IG", "ig:baseline=blur" -> "IG" over "baseline=blur",
# "lrp-epsilon-plus-flat" -> "LRP" over "epsilon-plus-flat" (long names would run into each other).
coltitle(s) = s eq "ig" ? "IG" : strstrt(s, "ig:") == 1 ? "IG\n".s[4:*] : strstrt(s, "lrp-") == 1 ? "LRP\n".s[5:*] : s
# Layout in pixels of the PNG; the PDF uses the same proportions.
cell = 150.0
# The left margin holds the row labels, set horizontally: about 7.6 px per character at 11 pt.
left = 40.0 + 7.6 * (exists("label_chars") ? label_chars : 12); right = 105.0; top = 80.0; bottom = 15.0
W = left + right + ncol * cell
H = top + bottom + n_rows * cell
# Diverging ColorBrewer RdBu, symmetric about zero.
set palette defined (-1 "#053061", -0.66 "#2166ac", -0.33 "#92c5de", 0 "#ffffff", \
                     0.33 "#f4a582", 0.66 "#b2182b", 1 "#67001f")
set cbrange [-1:1]
set xrange [-0.5:img_w - 0.5]
set yrange [img_h - 0.5:-0.5]
set size ratio -1
unset key
unset tics
unset border
do for [fmt in "png pdf"] {
    if (fmt eq "png") {
        set terminal pngcairo size W, H font "Sans,11"
    } else {
        set terminal pdfcairo size W / 140.0, H / 140.0 font "Sans,8"
    }
    set output out.'/heatmaps.'.fmt
    set multiplot layout n_rows, ncol \
        title dataset_title.": test images and relevance maps (each scaled by its own max |R|)" noenhanced \
        margins screen left / W, screen 1 - right / W, screen bottom / H, screen 1 - top / H spacing 0.004, 0.02
    do for [r = 1:n_rows] {
        do for [c = 1:ncol] {
            set title (r == 1 ? (c == 1 ? "input" : coltitle(map_name[c - 1])) : "") noenhanced
            # Row label left of the input: true and predicted class, red when they differ.
            if (c == 1) {
                set label 1 "true: ".row_true[r]."\npred: ".row_pred[r] at graph -0.06, 0.5 right noenhanced \
                    textcolor rgb (row_ok[r] ? "#000000" : "#b2182b")
            } else {
                unset label 1
            }
            if (c == 1) {
                plot sprintf("%s/input_%d.dat", data, r) using 1:2:3:4:5 with rgbimage
            } else {
                # One colour bar for the whole grid, beside the last row.
                if (r == n_rows && c == ncol) {
                    set colorbox user origin screen 1 - right / W + 0.012, screen bottom / H \
                        size screen 0.012, screen (n_rows * cell) / H * 0.9
                    set cbtics ("−1" -1, "0" 0, "+1" 1) scale 0.5 font ",9"
                    set cblabel "R / max |R|" offset -0.5, 0
                } else {
                    unset colorbox
                }
                plot sprintf("%s/heatmap_%d_%s.dat", data, r, map_tag[c - 1]) matrix with image
                unset cbtics
                unset cblabel
            }
        }
    }
    unset multiplot
    unset output
}
