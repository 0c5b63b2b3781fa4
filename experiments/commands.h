/* commands.h: the subcommands of the `xai` CLI, one function each: the one place that declares them.
 * Each parses its options and calls into the library; main.c dispatches by name. */
#ifndef XAI_COMMANDS_H
#define XAI_COMMANDS_H

int xai_cmd_bench(int argc, char **argv);     /* experiments/cmd_bench.c */
int xai_cmd_fetch(int argc, char **argv);     /* experiments/cmd_datasets.c */
int xai_cmd_datasets(int argc, char **argv);  /* experiments/cmd_datasets.c */
int xai_cmd_train(int argc, char **argv);     /* experiments/cmd_train.c */
int xai_cmd_explain(int argc, char **argv);   /* experiments/cmd_explain.c */
int xai_bench_ig(int argc, char **argv);      /* experiments/cmd_bench_explain.c: xai bench ig */
int xai_bench_lrp(int argc, char **argv);     /* experiments/cmd_bench_explain.c: xai bench lrp */
int xai_bench_evaluate(int argc, char **argv); /* experiments/cmd_bench_explain.c: xai bench evaluate */
int xai_cmd_evaluate(int argc, char **argv);  /* experiments/cmd_evaluate.c */
int xai_cmd_import(int argc, char **argv);    /* experiments/cmd_import.c */
int xai_cmd_export(int argc, char **argv);    /* experiments/cmd_export.c */
int xai_cmd_report(int argc, char **argv);    /* experiments/cmd_report.c */
int xai_cmd_reproduce(int argc, char **argv); /* experiments/reproduce.c */

#endif
