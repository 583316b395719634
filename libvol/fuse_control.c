/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fuse daemon's control thread (fuse_control.h): accepts one client at
 * a time on a unix socket and runs the online rekey it asks for, with the
 * daemon's hooks, while the FUSE workers keep serving I/O.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuse_control.h"
#include "internal.h"
#include "volume.h"

struct vol_fuse_control {
	int listen_fd;
	char *path;
	char *target;
	struct vol_fuse_rekey_hooks hooks;
	pthread_t thread;
	atomic_int stopping;
};

struct client {
	struct vol_fuse_control *c;
	int fd;
};

static int send_reply(int fd, uint32_t type, int result, const struct vol_rekey_progress *p)
{
	struct vol_ctl_reply reply = { .magic = VOL_CTL_MAGIC, .type = type, .result = result };

	if (p) {
		reply.done = p->done;
		reply.total = p->total;
		reply.this_run = p->this_run;
		reply.elapsed_ms = p->elapsed_ms;
		reply.torn_sectors = p->torn_sectors;
	}
	return send(fd, &reply, sizeof(reply), MSG_NOSIGNAL) == sizeof(reply) ? 0 : -errno;
}

/* Pause when the daemon stops or the client is gone. */
static int on_progress(const struct vol_rekey_progress *p, void *ctx)
{
	struct client *cl = ctx;

	if (send_reply(cl->fd, VOL_CTL_PROGRESS, 0, p))
		return 1;
	return atomic_load(&cl->c->stopping);
}

static int run_rekey(struct client *cl, const struct vol_ctl_request *req)
{
	struct vol_fuse_control *c = cl->c;
	struct vol_key *old_key = NULL, *new_key = NULL;
	struct vol_volume *vol = NULL;
	int r;

	r = vol_key_import(req->old_key, sizeof(req->old_key), &old_key);
	if (!r)
		r = vol_key_import(req->new_key, sizeof(req->new_key), &new_key);
	if (!r)
		r = vol_load(c->target, VOL_LOAD_ONLINE | VOL_LOAD_LOCK_HELD, &vol);
	if (!r)
		r = vol_key_verify(vol, old_key) == 1 ? 0 : -EPERM;
	if (!r)
		r = c->hooks.install(c->hooks.ops.ctx, new_key);
	if (!r)
		r = vol_rekey_run_ops(vol, old_key, new_key, &c->hooks.ops, on_progress, cl);
	vol_free(vol);
	vol_key_free(old_key);
	vol_key_free(new_key);
	return r;
}

/* Only root, or whoever runs the daemon, may hand it keys. */
static int peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return 0;
	return cred.uid == 0 || cred.uid == getuid();
}

static void serve_client(struct vol_fuse_control *c, int fd)
{
	struct vol_ctl_request *req = vol_secure_alloc(sizeof(*req));
	struct client cl = { .c = c, .fd = fd };
	ssize_t n;
	int r;

	if (!req) {
		send_reply(fd, VOL_CTL_DONE, -ENOMEM, NULL);
		return;
	}
	n = peer_allowed(fd) ? recv(fd, req, sizeof(*req), 0) : -1;
	if (n != (ssize_t)sizeof(*req) || req->magic != VOL_CTL_MAGIC ||
	    req->command != VOL_CTL_REKEY) {
		r = n < 0 ? -EACCES : -EPROTO;
	} else {
		r = run_rekey(&cl, req);
		if (r == -EINTR)
			vol_info("online rekey paused");
		else if (r)
			vol_err("online rekey failed: %s", vol_strerror(r));
		else
			vol_info("online rekey finished");
	}
	vol_secure_free(req, sizeof(*req));
	send_reply(fd, VOL_CTL_DONE, r, NULL);
}

static void *control_thread(void *arg)
{
	struct vol_fuse_control *c = arg;

	while (!atomic_load(&c->stopping)) {
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break; /* shut down by vol_fuse_control_stop() */
		}
		serve_client(c, fd);
		close(fd);
	}
	return NULL;
}

static int listen_on(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* left by a daemon that was killed */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || chmod(path, 0600) ||
	    listen(fd, 4)) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

int vol_fuse_control_start(const char *path, const char *target,
			   const struct vol_fuse_rekey_hooks *hooks,
			   struct vol_fuse_control **out)
{
	struct vol_fuse_control *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->hooks = *hooks;
	c->path = strdup(path);
	c->target = strdup(target);
	c->listen_fd = c->path && c->target ? listen_on(path) : -ENOMEM;
	if (c->listen_fd < 0) {
		r = c->listen_fd;
		vol_err("cannot listen on %s: %s", path, vol_strerror(r));
		goto fail;
	}
	r = -pthread_create(&c->thread, NULL, control_thread, c);
	if (r) {
		close(c->listen_fd);
		unlink(path);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	free(c->path);
	free(c->target);
	free(c);
	return r;
}

void vol_fuse_control_stop(struct vol_fuse_control *c)
{
	if (!c)
		return;
	atomic_store(&c->stopping, 1);
	/* Wakes accept() (EINVAL); a rekey running sees "stopping" after its chunk. */
	shutdown(c->listen_fd, SHUT_RDWR);
	pthread_join(c->thread, NULL);
	close(c->listen_fd);
	unlink(c->path);
	free(c->path);
	free(c->target);
	free(c);
}
