/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Routing of library messages to the application's log callback. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static vol_log_fn log_fn;
static void *log_ctx;
static _Thread_local int log_suppressed;

void vol_set_log_suppressed(int on)
{
	log_suppressed = on;
}

void vol_set_log(vol_log_fn fn, void *ctx)
{
	log_fn = fn;
	log_ctx = ctx;
}

void vol_log(enum vol_log_level level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!log_fn || log_suppressed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, msg, log_ctx);
}

const char *vol_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case -EINVAL: return "invalid argument";
	case -EPERM: return "no key available with this passphrase";
	case -EACCES: return "permission denied";
	case -EROFS: return "target is read-only";
	case -ENOMEM: return "out of memory";
	case -ENOENT: return "no such file or device";
	case -ENODEV: return "not a usable device (wrong type or too small)";
	case -EBADMSG: return "no valid volcrypt header";
	case -EPROTONOSUPPORT: return "unsupported header version or feature";
	case -EEXIST: return "target already holds data or a different volume";
	case -EBUSY: return "target is busy";
	case -ENOSPC: return "no free keyslot";
	case -EIO: return "I/O error";
	default: return err < 0 ? strerror(-err) : "unknown error";
	}
}
