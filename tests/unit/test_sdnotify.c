/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/sdnotify.h"
#include "tests/unit/unit.h"

/* A real datagram socket stands for systemd's; what arrives is checked byte for byte. */
static void
check_roundtrip(const char *name, int abstract)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char env[sizeof(sa.sun_path) + 1], got[64];
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s%s.%d", abstract ? "@" : "/tmp/", name,
	    (int)getpid());
	snprintf(env, sizeof(env), "%s", sa.sun_path);
	if (abstract)
		sa.sun_path[0] = '\0';
	else
		unlink(sa.sun_path);
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(env));
	CHECK(bind(fd, (struct sockaddr *)&sa, alen) == 0);
	setenv("NOTIFY_SOCKET", env, 1);
	CHECK_INT(sdnotify("READY=1"), 1);
	CHECK_INT(sdnotify("STOPPING=1"), 1);
	ssize_t n = recv(fd, got, sizeof(got), MSG_DONTWAIT);
	CHECK_MEM(got, n > 0 ? (size_t)n : 0, "READY=1", 7);
	n = recv(fd, got, sizeof(got), MSG_DONTWAIT);
	CHECK_MEM(got, n > 0 ? (size_t)n : 0, "STOPPING=1", 10);
	close(fd);
	if (!abstract)
		unlink(env);
	unsetenv("NOTIFY_SOCKET");
}

TEST(sdnotify_path_socket) { check_roundtrip("mtool-sdnotify", 0); }
TEST(sdnotify_abstract_socket) { check_roundtrip("mtool-sdnotify", 1); }

TEST(sdnotify_without_socket)
{
	unsetenv("NOTIFY_SOCKET");
	CHECK_INT(sdnotify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	CHECK_INT(sdnotify("READY=1"), -1);
	setenv("NOTIFY_SOCKET", "/nonexistent/mtool-notify", 1);
	CHECK_INT(sdnotify("READY=1"), -1);
	unsetenv("NOTIFY_SOCKET");
}
