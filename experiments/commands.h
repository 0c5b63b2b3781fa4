/* commands.h: the subcommands of the `xai` CLI, one function each.
 * Each lives beside the code it drives (core/, datasets/, trainers/, ...). */
#ifndef XAI_COMMANDS_H
#define XAI_COMMANDS_H

int xai_cmd_bench(int argc, char **argv);    /* core/cmd_bench.c */

#endif
