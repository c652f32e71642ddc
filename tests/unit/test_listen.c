/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/listen.h"
#include "core/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int
connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	str_copy(sun.sun_path, path, sizeof(sun.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

TEST(unix_live_stale_mode)
{
	char dir[] = "/tmp/mtool-listen-XXXXXX", path[64], err[128];
	struct stat st;
	CHECK(mkdtemp(dir) != NULL);
	str_fmt(path, sizeof(path), "%s/sock", dir);

	int fd = listen_unix(path, 0640, (uid_t)-1, (gid_t)-1, 8, err, sizeof(err));
	CHECK(fd >= 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	/* a second daemon on the same path: refused, the first keeps its socket */
	errno = 0;
	CHECK_INT(listen_unix(path, 0600, (uid_t)-1, (gid_t)-1, 8, err, sizeof(err)), -1);
	CHECK_INT(errno, EADDRINUSE);
	CHECK_STR(err, "already in use by a running process");
	int c = connect_unix(path);
	CHECK(c >= 0);
	int a = accept(fd, NULL, NULL);
	CHECK(a >= 0);
	close(a);
	close(c);

	/* the first one is gone, its file is left: replaced */
	close(fd);
	CHECK(stat(path, &st) == 0);
	fd = listen_unix(path, 0600, (uid_t)-1, (gid_t)-1, 8, err, sizeof(err));
	CHECK(fd >= 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	close(fd);
	unlink(path);

	/* a file that is not a socket is never removed */
	int f = open(path, O_CREAT | O_WRONLY, 0600);
	close(f);
	CHECK_INT(listen_unix(path, 0600, (uid_t)-1, (gid_t)-1, 8, err, sizeof(err)), -1);
	CHECK_STR(err, strerror(EADDRINUSE));
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode));
	unlink(path);
	rmdir(dir);
}

TEST(unix_path_too_long)
{
	char path[200], err[128];
	/* under a directory that does not exist: the one that fits fails at bind */
	memset(path, 'a', sizeof(path) - 1);
	memcpy(path, "/nonexistent/", 13);
	path[sizeof(path) - 1] = '\0';
	errno = 0;
	CHECK_INT(listen_unix(path, 0600, (uid_t)-1, (gid_t)-1, 8, err, sizeof(err)), -1);
	CHECK_INT(errno, ENAMETOOLONG);
	CHECK_STR(err, "path too long (199 bytes; a UNIX socket path has at most 107)");
	/* one byte less than sun_path is the longest that fits */
	path[108] = '\0';
	CHECK_INT(listen_unix(path, 0600, (uid_t)-1, (gid_t)-1, 8, err, sizeof(err)), -1);
	CHECK_INT(errno, ENAMETOOLONG);
	path[107] = '\0';
	errno = 0;
	CHECK_INT(listen_unix(path, 0600, (uid_t)-1, (gid_t)-1, 8, err, sizeof(err)), -1);
	CHECK_INT(errno, ENOENT);
}

TEST(tcp)
{
	struct ip_addr ip;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char err[128];
	CHECK(ip_parse("127.0.0.1", &ip) == 0);
	int fd = listen_tcp(&ip, 0, 8, LISTEN_NODELAY | LISTEN_V6ONLY, err, sizeof(err));
	CHECK(fd >= 0);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK(getsockname(fd, (struct sockaddr *)&ss, &len) == 0);
	unsigned int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	CHECK(port != 0);
	/* the same port again while the first listens */
	errno = 0;
	CHECK_INT(listen_tcp(&ip, port, 8, 0, err, sizeof(err)), -1);
	CHECK_INT(errno, EADDRINUSE);
	CHECK_STR(err, strerror(EADDRINUSE));
	close(fd);
	/* no address: no socket */
	struct ip_addr unset = { 0 };
	CHECK_INT(listen_tcp(&unset, 1, 8, 0, err, sizeof(err)), -1);
}
