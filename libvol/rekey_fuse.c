/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Online rekey of a volume served by a fuse daemon: the daemon runs the
 * rekey itself (fuse_control.c), inside the process that serves the
 * I/O; this side hands it the keys, holds the update lock for it and
 * relays its progress.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend.h"
#include "fuse_control.h"
#include "mapping_state.h"
#include "volume.h"

static int connect_daemon(const char *name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char dir[PATH_MAX];
	int fd;

	vol_state_dir(name, dir, sizeof(dir));
	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", dir,
			     VOL_CTL_SOCKET) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		int r = -errno;

		close(fd);
		if (r == -ENOENT || r == -ECONNREFUSED) {
			vol_err("%s: its daemon does not take an online rekey (read-only mapping?)",
				name);
			return -EOPNOTSUPP;
		}
		return r;
	}
	return fd;
}

static int send_keys(int fd, const struct vol_key *old_key, const struct vol_key *new_key)
{
	struct vol_ctl_request *req = vol_secure_alloc(sizeof(*req));
	ssize_t n;

	if (!req)
		return -ENOMEM;
	req->magic = VOL_CTL_MAGIC;
	req->command = VOL_CTL_REKEY;
	memcpy(req->old_key, old_key->bytes, sizeof(req->old_key));
	memcpy(req->new_key, new_key->bytes, sizeof(req->new_key));
	n = send(fd, req, sizeof(*req), MSG_NOSIGNAL);
	vol_secure_free(req, sizeof(*req));
	return n == (ssize_t)sizeof(*req) ? 0 : -EIO;
}

/* Progress until the daemon is done; closing the socket pauses it. */
static int follow(int fd, vol_rekey_progress_fn progress, void *ctx)
{
	for (;;) {
		struct vol_ctl_reply reply;
		struct vol_rekey_progress p;
		ssize_t n = recv(fd, &reply, sizeof(reply), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(reply) || reply.magic != VOL_CTL_MAGIC) {
			vol_err("the fuse daemon ended the online rekey without an answer");
			return -EIO;
		}
		if (reply.type == VOL_CTL_DONE)
			return reply.result;
		p = (struct vol_rekey_progress){
			.done = reply.done, .total = reply.total, .this_run = reply.this_run,
			.elapsed_ms = reply.elapsed_ms, .torn_sectors = reply.torn_sectors,
		};
		if (progress && progress(&p, ctx) && p.done < p.total)
			return -EINTR;
	}
}

int vol_fuse_rekey(struct vol_volume *vol, const struct vol_mapping_info *m,
		   const struct vol_key *old_key, const struct vol_key *new_key,
		   vol_rekey_progress_fn progress, void *ctx)
{
	int fd, r;

	/* Every chunk is done already: only the header is left to finish. */
	if (!old_key)
		return vol_rekey_run(vol, NULL, new_key, progress, ctx);
	if (m->read_only) {
		vol_err("%s is mapped read-only: close it and rekey offline", m->name);
		return -EROFS;
	}
	fd = connect_daemon(m->name);
	if (fd < 0)
		return fd;
	r = send_keys(fd, old_key, new_key);
	if (!r)
		r = follow(fd, progress, ctx);
	close(fd);
	/* The daemon updated the header: what the caller shows must be current. */
	if (r != -EINTR && !vol_header_read(vol->dev, &vol->md, vol->copy_state))
		vol_material_scan(vol->dev, &vol->md, vol->material_state);
	return r;
}
