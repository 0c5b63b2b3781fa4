/* main.c: the `xai` command-line entry point and subcommand dispatch.
 * Global options may come before the subcommand or anywhere after it (core/cli.c). */
#include "core/base.h"
#include "core/io.h"
#include "core/mpi.h"
#include "experiments/commands.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const xai_cmd commands[] = {
    {"bench", "measure training, inference and attribution throughput", xai_cmd_bench},
    {"fetch", "download, verify, decode and cache datasets", xai_cmd_fetch},
    {"datasets", "show fetched datasets (info, check, list)", xai_cmd_datasets},
    {"train", "train an experiment's model from scratch (checkpoints, --resume)", xai_cmd_train},
    {"explain", "attributions (IG, LRP, gradients) of test images to HDF5", xai_cmd_explain},
    {"evaluate", "score attributions: pixel flipping, completeness, sanity checks", xai_cmd_evaluate},
    {"import", "an ONNX model (a chain of the engine's layers) as a model file", xai_cmd_import},
    {"export", "plot data (and --figures) from one experiment's HDF5 results", xai_cmd_export},
    {"report", "Markdown/HTML report and artefact zip from the results", xai_cmd_report},
    {"reproduce", "the whole study: fetch, train, explain, evaluate, figures, report", xai_cmd_reproduce},
};
#define NCMD (int)(sizeof commands / sizeof *commands)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xai [global options] <command> [options]   (global options may also follow the command)\n"
            "\n"
            "Reproduces 'Explaining Deep Neural Networks using LRP and Integrated Gradients'.\n"
            "\n"
            "commands:\n");
    for (int i = 0; i < NCMD; i++) fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "  %-12s %s\n"
            "\n"
            "global options:\n"
            "  --threads N  OpenMP threads (default: XAI_THREADS or all cores; at most 4 per core)\n"
            "  --quiet      no progress output\n"
            "  --version    print the version\n"
            "Run 'xai <command> --help' for a command's options.\n",
            "version", "print the program version");
}

/* OpenBLAS 0.3.21 (Debian 12) falls back to its SSE3 "Prescott" kernels on CPUs it
 * does not know (e.g. Sapphire Rapids in a VM), 3-5x slower than the AVX2/AVX-512
 * kernels the CPU runs. It reads OPENBLAS_CORETYPE only when it loads, so pick the
 * kernel family from what the CPU and OS support and re-execute once. */
static void pick_blas_kernels(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") || getenv("XAI_KEEP_BLAS_CORE")) return;
    const char *core = openblas_get_corename();
    static const char *weak[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai",
                                 "Coppermine", "Northwood", "Banias"};
    int is_weak = 0;
    for (size_t i = 0; i < sizeof weak / sizeof *weak; i++) is_weak |= core && !strcmp(core, weak[i]);
    if (!is_weak) return;
    __builtin_cpu_init();
    const char *want = NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
        want = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        want = "Haswell";
    else if (__builtin_cpu_supports("avx"))
        want = "Sandybridge";
    if (!want) return;
    setenv("OPENBLAS_CORETYPE", want, 1);
    if (!getenv("OPENBLAS_NUM_THREADS")) setenv("OPENBLAS_NUM_THREADS", "1", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the slower kernels */
}

/* The command line after the global options, as one process (or one rank) runs it. */
static int run(int argc, char **argv)
{
    int i = 1;
    int r = xai_opts_globals(argc, argv, &i);
    if (r != XAI_OPTS_OK) return r;
    if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (i < argc && !strcmp(argv[i], "--version")) {
        printf("xai %s\n", xai_version());
        return 0;
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[i], "version")) {
        printf("xai %s\n", xai_version());
        return 0;
    }
    if (!strcmp(argv[i], "help")) {
        usage(stdout);
        return 0;
    }
    for (int c = 0; c < NCMD; c++)
        if (!strcmp(argv[i], commands[c].name)) return commands[c].fn(argc - i, argv + i);
    fprintf(stderr, "xai: unknown command '%s' (see 'xai --help')\n", argv[i]);
    return 2;
}

int main(int argc, char **argv)
{
    /* The BLAS re-exec comes first: MPI must be initialised by the image that stays. */
    pick_blas_kernels(argv);
    xai_status s = xai_mpi_init(&argc, &argv);
    if (s != XAI_OK) return xai_cli_error(s);
    /* Only rank 0 speaks: the others' progress and stdout would repeat it; errors still show. */
    if (xai_mpi_rank() > 0) {
        xai_quiet = 1;
        if (!freopen("/dev/null", "w", stdout)) fclose(stdout);
    }
    int rc = run(argc, argv);
    xai_mpi_finalize();
    return rc;
}
