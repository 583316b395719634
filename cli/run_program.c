/* SPDX-License-Identifier: GPL-2.0-or-later */
/* posix_spawnp + waitpid, with errors in our one-line format. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"
#include "run_program.h"

extern char **environ;

int run_program(char *const argv[])
{
	posix_spawn_file_actions_t actions;
	int status, err;
	pid_t pid;

	/* Its chatter goes to stderr: stdout is ours (--json, scripts). */
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
	err = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	if (err)
		return report_sys_error(-err, argv[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return report_sys_error(-errno, argv[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		return report_error(-EIO, argv[0], "killed by signal %d", WTERMSIG(status));
	return report_error(-EIO, argv[0], "failed with exit status %d", WEXITSTATUS(status));
}
