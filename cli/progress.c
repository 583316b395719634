/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Progress bar (terminal) and progress lines (--json). */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "json_out.h"
#include "progress.h"

/* Redraw at most this often: a terminal is slower than a fast rekey. */
#define BAR_INTERVAL_MS 200.0
#define JSON_INTERVAL_MS 1000.0
#define BAR_WIDTH 30

double progress_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double progress_percent(uint64_t done, uint64_t total)
{
	return total ? 100.0 * (double)done / (double)total : 100.0;
}

void progress_init(struct progress *p, const char *what, bool json)
{
	p->what = what;
	p->json = json;
	p->bar = !json && isatty(STDERR_FILENO);
	p->last_ms = -1e9;
}

static void format_eta(double seconds, char *buf, size_t len)
{
	unsigned s = seconds > 359999 ? 359999 : (unsigned)(seconds + 0.5);

	snprintf(buf, len, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
}

static void json_line(const struct progress *p, uint64_t done, uint64_t total, double rate,
		      double eta)
{
	struct json_object *obj = json_out_object();

	json_out_set_string(obj, "event", "progress");
	json_out_set_string(obj, "job", p->what);
	json_out_set_u64(obj, "done_bytes", done);
	json_out_set_u64(obj, "total_bytes", total);
	json_out_set_double(obj, "percent", progress_percent(done, total));
	json_out_set_double(obj, "rate_mb_s", rate / 1e6);
	json_out_set_double(obj, "eta_s", eta);
	json_out_print(obj, JSON_OUT_LINE);
	fflush(stdout);
}

static void draw_bar(const struct progress *p, uint64_t done, uint64_t total, double rate,
		     double eta)
{
	double frac = total ? (double)done / (double)total : 1;
	int fill = (int)(frac * BAR_WIDTH);
	char bar[BAR_WIDTH + 1], eta_text[16];

	for (int i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '-';
	bar[BAR_WIDTH] = '\0';
	format_eta(eta, eta_text, sizeof(eta_text));
	fprintf(stderr, "\r%s [%s] %5.1f%%  %8.1f MB/s  ETA %s ", p->what, bar, 100 * frac,
		rate / 1e6, eta_text);
	fflush(stderr);
}

void progress_update(struct progress *p, uint64_t done, uint64_t total, uint64_t this_run,
		     double elapsed_ms)
{
	double t = progress_now_ms(), rate, eta;
	bool last = done >= total;

	if (!p->json && !p->bar)
		return;
	if (!last && t - p->last_ms < (p->json ? JSON_INTERVAL_MS : BAR_INTERVAL_MS))
		return;
	p->last_ms = t;
	rate = elapsed_ms > 0 ? (double)this_run / (elapsed_ms / 1e3) : 0;
	eta = rate > 0 ? (double)(total - done) / rate : 0;
	if (p->json)
		json_line(p, done, total, rate, eta);
	else
		draw_bar(p, done, total, rate, eta);
}

void progress_end(struct progress *p)
{
	if (p->bar)
		fputc('\n', stderr);
	p->bar = false;
}
