/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Terminal prompts, with echo switched off for passphrases. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "fdio.h"
#include "tty.h"

/* The signals that end the process by default while a user is typing. */
static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define N_FATAL_SIGNALS (sizeof(fatal_signals) / sizeof(fatal_signals[0]))

/* What the signal handler restores; set before the handler is installed. */
static volatile sig_atomic_t echo_off_fd = -1;
static struct termios saved_termios;
static struct sigaction saved_actions[N_FATAL_SIGNALS];

/*
 * A ^C at a hidden prompt must not leave the user's shell without echo.
 * tcsetattr() and raise() are async-signal-safe; SA_RESETHAND has put
 * back the default action, so the re-raised signal ends the process.
 */
static void restore_on_signal(int sig)
{
	if (echo_off_fd >= 0)
		tcsetattr(echo_off_fd, TCSANOW, &saved_termios);
	raise(sig);
}

/* A signal the caller chose to ignore stays ignored. */
static void install_restore_handlers(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < N_FATAL_SIGNALS; i++) {
		sigaction(fatal_signals[i], NULL, &saved_actions[i]);
		if (saved_actions[i].sa_handler != SIG_IGN)
			sigaction(fatal_signals[i], &sa, NULL);
	}
}

static void remove_restore_handlers(void)
{
	size_t i;

	for (i = 0; i < N_FATAL_SIGNALS; i++)
		sigaction(fatal_signals[i], &saved_actions[i], NULL);
}

static int echo_disable(int fd)
{
	struct termios hidden;

	if (tcgetattr(fd, &saved_termios))
		return -errno;
	hidden = saved_termios;
	hidden.c_lflag &= ~(tcflag_t)ECHO;
	echo_off_fd = fd;
	install_restore_handlers();
	/* TCSAFLUSH: discard anything typed ahead while echo was still on. */
	if (tcsetattr(fd, TCSAFLUSH, &hidden)) {
		int err = -errno;

		remove_restore_handlers();
		echo_off_fd = -1;
		return err;
	}
	return 0;
}

static void echo_restore(int fd)
{
	tcsetattr(fd, TCSANOW, &saved_termios);
	remove_restore_handlers();
	echo_off_fd = -1;
}

bool tty_interactive(void)
{
	return isatty(STDIN_FILENO);
}

/*
 * The controlling terminal; else, when there is none (ENXIO: early boot,
 * where the initramfs runs us on the console without making it our
 * controlling terminal), stdin if it is a terminal.
 */
static int open_terminal(void)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	const char *name;

	if (fd >= 0 || errno != ENXIO || !isatty(STDIN_FILENO))
		return fd < 0 ? -errno : fd;
	/* Reopened read-write: stdin itself may be read-only. */
	name = ttyname(STDIN_FILENO);
	fd = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
	if (fd < 0)
		fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	return fd < 0 ? -errno : fd;
}

int tty_ask(const char *prompt, bool echo, struct secret *answer)
{
	int fd, err;

	fd = open_terminal();
	if (fd < 0)
		return fd;
	/*
	 * Echo off before the prompt shows: whatever is typed once it is
	 * visible is kept (TCSAFLUSH drops only what came before), so the
	 * prompt is a safe point for a program at the other end (a serial
	 * console driven by a test) to start typing.
	 */
	err = echo ? 0 : echo_disable(fd);
	if (err) {
		close(fd);
		return err;
	}
	err = fd_write_all(fd, prompt, strlen(prompt));
	if (!err)
		err = secret_read_fd(answer, fd, SECRET_READ_LINE);
	if (!echo) {
		echo_restore(fd);
		/* The user's Enter was not echoed either. */
		fd_write_all(fd, "\n", 1);
	}
	close(fd);
	return err;
}
