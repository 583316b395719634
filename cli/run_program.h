/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Running a helper program (tune2fs, rsync) and waiting for it. */
#ifndef VOLCRYPT_RUN_PROGRAM_H
#define VOLCRYPT_RUN_PROGRAM_H

/*
 * Runs @argv (argv[0] looked up in PATH; no shell) with our stdin and
 * stderr, its stdout sent to stderr too, and waits.  Returns 0 if it exited with status 0,
 * else an exit status after the error line naming the program.
 */
int run_program(char *const argv[]);

#endif
