/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Progress of a long job: a bar with rate and ETA on stderr when it is a
 * terminal, one JSON object per line on stdout with --json, nothing else
 * otherwise (scripts get the result line at the end).
 */
#ifndef VOLCRYPT_PROGRESS_H
#define VOLCRYPT_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
	const char *what;       /* "rekey" */
	bool json;
	bool bar;
	double last_ms;
};

/* Monotonic clock in milliseconds (for durations a command reports). */
double progress_now_ms(void);

void progress_init(struct progress *p, const char *what, bool json);

/* @done as a percentage of @total (100 when there is nothing to do). */
double progress_percent(uint64_t done, uint64_t total);

/* @done of @total bytes; @this_run bytes in @elapsed_ms by this process. */
void progress_update(struct progress *p, uint64_t done, uint64_t total, uint64_t this_run,
		     double elapsed_ms);

/* Ends the bar's line (if one is shown). */
void progress_end(struct progress *p);

#endif /* VOLCRYPT_PROGRESS_H */
