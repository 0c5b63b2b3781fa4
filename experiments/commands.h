/* commands.h: the subcommands of the `xai` CLI, one function each.
 * Each lives beside the code it drives (core/, datasets/, trainers/, ...). */
#ifndef XAI_COMMANDS_H
#define XAI_COMMANDS_H

int xai_cmd_bench(int argc, char **argv);    /* core/cmd_bench.c */
int xai_cmd_fetch(int argc, char **argv);    /* datasets/cmd_datasets.c */
int xai_cmd_datasets(int argc, char **argv); /* datasets/cmd_datasets.c */

#endif
