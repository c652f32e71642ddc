/* SPDX-License-Identifier: MIT */
#include "core/listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/str.h"

static int
fail(int fd, char *err, size_t errlen)
{
	int e = errno;
	str_copy(err, strerror(e), errlen);
	if (fd >= 0)
		close(fd);
	errno = e;
	return -1;
}

int
listen_tcp(const struct ip_addr *ip, unsigned int port, int backlog, int flags, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;

	if (ip_to_sockaddr(ip, port, &ss, &len) < 0) {
		errno = EINVAL;
		return fail(-1, err, errlen);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(fd, err, errlen);
	/* a restart must not wait for the old connections' TIME_WAIT */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (flags & LISTEN_NODELAY)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((flags & LISTEN_V6ONLY) && ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0)
		return fail(fd, err, errlen);
	return fd;
}

/* Whether a process accepts connections on the socket file at sun's path. */
static int
socket_alive(const struct sockaddr_un *sun)
{
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return 0;
	/* a full backlog (EAGAIN) is a live listener too */
	int r = connect(probe, (const struct sockaddr *)sun, sizeof(*sun));
	int alive = r == 0 || errno == EAGAIN;
	close(probe);
	return alive;
}

int
listen_unix(const char *path, mode_t mode, uid_t uid, gid_t gid, int backlog, char *err,
    size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t plen = strlen(path);
	if (plen >= sizeof(sun.sun_path)) {
		str_fmt(err, errlen, "path too long (%zu bytes; a UNIX socket path has at most %zu)",
		    plen, sizeof(sun.sun_path) - 1);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, plen + 1);
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		if (socket_alive(&sun)) {
			str_copy(err, "already in use by a running process", errlen);
			errno = EADDRINUSE;
			return -1;
		}
		/* left by a dead process */
		unlink(path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(fd, err, errlen);
	/* nobody may connect before the mode and owner are right */
	mode_t old = umask(0777);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0)
		return fail(fd, err, errlen);
	if (chmod(path, mode) < 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) < 0) ||
	    listen(fd, backlog) < 0) {
		int e = errno;
		unlink(path);
		errno = e;
		return fail(fd, err, errlen);
	}
	return fd;
}
