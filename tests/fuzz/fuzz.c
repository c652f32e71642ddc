/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz.c: helpers for the fuzz targets (tests/fuzz/fuzz.h). */
#include "tests/fuzz/fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/base64.h"
#include "core/loop.h"
#include "tests/unit/test_cert.h"

char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

char *
fuzz_take(const uint8_t **data, size_t *size, uint8_t sep)
{
	const uint8_t *p = memchr(*data, sep, *size);
	size_t n = p != NULL ? (size_t)(p - *data) : *size;
	char *s = fuzz_strndup(*data, n);
	*data += n < *size ? n + 1 : n;
	*size -= n < *size ? n + 1 : n;
	return s;
}

int
fuzz_cost_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		const char *p = s + i;
		size_t left = len - i;
		/* bcrypt: "$2?$CC" anywhere (crypt_hash looks at the start; be generous) */
		if (left >= 6 && p[0] == '$' && p[1] == '2' && p[3] == '$') {
			char cc[3] = { p[4], p[5], 0 };
			if (strtoul(cc, NULL, 10) > 5 || cc[0] < '0' || cc[0] > '9')
				return 0;
		}
		if (left >= 7 && strncmp(p, "rounds=", 7) == 0) {
			char num[32];
			size_t n = left - 7 < sizeof(num) - 1 ? left - 7 : sizeof(num) - 1;
			memcpy(num, p + 7, n);
			num[n] = '\0';
			if (strtoul(num, NULL, 10) > 10000)
				return 0;
		}
	}
	return 1;
}

int
fuzz_stored_cost_ok(const char *stored)
{
	size_t len = strlen(stored);
	if (!fuzz_cost_ok(stored, len))
		return 0;
	/* an encoded value: check what it decodes to, as hex and as base64 */
	const char *data = strchr(stored, '}');
	data = data != NULL ? data + 1 : stored;
	size_t dlen = strlen(data);
	unsigned char *raw = malloc(dlen + 1);
	size_t n = 0;
	int ok = 1;
	for (size_t i = 0; i + 1 < dlen; i += 2) {
		char hex[3] = { data[i], data[i + 1], 0 };
		raw[n++] = (unsigned char)strtoul(hex, NULL, 16);
	}
	ok = fuzz_cost_ok((const char *)raw, n);
	if (ok && base64_decode(data, dlen, raw, dlen, &n) == 0)
		ok = fuzz_cost_ok((const char *)raw, n);
	free(raw);
	return ok;
}

static char dir_path[64];

/* Empties dir (one level of subdirectories: proxyd's base_dir). */
static void
dir_empty(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) < 0 && depth == 0) {
			dir_empty(path, 1);
			rmdir(path);
		}
	}
	closedir(d);
}

static void
dir_remove(void)
{
	dir_empty(dir_path, 0);
	rmdir(dir_path);
}

const char *
fuzz_dir(void)
{
	if (dir_path[0] == '\0') {
		snprintf(dir_path, sizeof(dir_path), "/tmp/mtool-fuzz.XXXXXX");
		if (mkdtemp(dir_path) == NULL)
			abort();
		atexit(dir_remove);
	}
	return dir_path;
}

void
fuzz_dir_clean(void)
{
	dir_empty(fuzz_dir(), 0);
}

static const char *
write_file(const char *dir, const char *name, const void *data, size_t len)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	return path;
}

const char *
fuzz_write_file(const char *name, const void *data, size_t len)
{
	return write_file(fuzz_dir(), name, data, len);
}

static char shm_path[64];

static void
shm_remove(void)
{
	dir_empty(shm_path, 0);
	rmdir(shm_path);
}

const char *
fuzz_shm_write_file(const char *name, const void *data, size_t len)
{
	if (shm_path[0] == '\0') {
		if (access("/dev/shm", W_OK) != 0)
			return fuzz_write_file(name, data, len);
		snprintf(shm_path, sizeof(shm_path), "/dev/shm/mtool-fuzz.XXXXXX");
		if (mkdtemp(shm_path) == NULL)
			abort();
		atexit(shm_remove);
	}
	return write_file(shm_path, name, data, len);
}

FILE *
fuzz_errf(void)
{
	static FILE *f;
	if (f == NULL && (f = fopen(getenv("FUZZ_DEBUG") ? "/dev/stderr" : "/dev/null", "w")) == NULL)
		abort();
	return f;
}

static void
stop_cb(struct loop_timer *t, void *arg)
{
	(void)t;
	loop_stop(arg);
}

void
fuzz_loop_turn(struct loop *l)
{
	static struct loop_timer stop;
	if (loop_timer_set(l, &stop, 0, stop_cb, l) < 0 || loop_run(l) < 0)
		abort();
}

int
fuzz_side_move(struct fuzz_side *s)
{
	int moved = 0;
	char buf[8192];
	ssize_t n;
	while ((n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		moved = 1;
	if (s->size > 0) {
		n = send(s->fd, s->data, s->size < s->step ? s->size : s->step, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			s->data += n;
			s->size -= (size_t)n;
			moved = 1;
		} else if (n < 0 && errno != EAGAIN) {
			s->size = 0;
		}
	}
	return moved;
}

int
fuzz_unix_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		abort();
	return fd;
}

/* the unit tests' */
const char *const fuzz_cert_pem = test_cert_pem;
const char *const fuzz_key_pem = test_key_pem;

/* RSA-1024 (small: fast handshakes), self-signed for unit.test; the key in PKCS#1 form */
const char fuzz_rsa_cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIICHDCCAYWgAwIBAgIUC7DjJLIHxfcts7bS82ru9CvpXigwDQYJKoZIhvcNAQEL\n"
	"BQAwFDESMBAGA1UEAwwJdW5pdC50ZXN0MCAXDTI2MTIwNzE5MzEzMVoYDzIxMjYx\n"
	"MTEzMTkzMTMxWjAUMRIwEAYDVQQDDAl1bml0LnRlc3QwgZ8wDQYJKoZIhvcNAQEB\n"
	"BQADgY0AMIGJAoGBALFybodGzdQkX6aZocuNXCahOQrQOWwgnmShhYwlu4wQPol7\n"
	"l2StTzQHpaof1qH48kuICOBR91+3f/8D1Yv1NcexJJL2RqYz0Qg4OcuMIslTMFJn\n"
	"bTt0uQHH5dq1qKIUp61YpT38hZxItt51RPL4pmvLBifCLBwHlqQPmj04CDPnAgMB\n"
	"AAGjaTBnMB0GA1UdDgQWBBROjIfgCsMgRwCp0S1gH3iPGuinFjAfBgNVHSMEGDAW\n"
	"gBROjIfgCsMgRwCp0S1gH3iPGuinFjAPBgNVHRMBAf8EBTADAQH/MBQGA1UdEQQN\n"
	"MAuCCXVuaXQudGVzdDANBgkqhkiG9w0BAQsFAAOBgQA52C00kDX/AOo2ctGieKaT\n"
	"Pzxcm244qKmeR6nXlRP9MgvGNqQQVhN+NJjcmmnHWxeQZCwW9CdJcFD8wWp5fIje\n"
	"odixLRpGoohay+PaBrMlEOsN8r8W8lI/MSkgPIJbny1LyO2G+Px8bJZlwtkgXVh/\n"
	"o3/w5WQ2s34tVgmJXwYjgA==\n"
	"-----END CERTIFICATE-----\n";
const char fuzz_rsa_key_pem[] =
	"-----BEGIN RSA PRIVATE KEY-----\n"
	"MIICWwIBAAKBgQCxcm6HRs3UJF+mmaHLjVwmoTkK0DlsIJ5koYWMJbuMED6Je5dk\n"
	"rU80B6WqH9ah+PJLiAjgUfdft3//A9WL9TXHsSSS9kamM9EIODnLjCLJUzBSZ207\n"
	"dLkBx+XataiiFKetWKU9/IWcSLbedUTy+KZrywYnwiwcB5akD5o9OAgz5wIDAQAB\n"
	"AoGAf2qO6T4zQBiaQlPg9PvdZrOv9Q7NnNHTSqkc7ySNBicH8Mq5TAaSb+bp0z4n\n"
	"bYkH2qqkzQauXaGzHBfRuDzsTvSfn2c37ezBGYWNOdIRtp7Hk/UCnSME7WLncIeK\n"
	"xJrOWYvglI0U/AEXmH5iuET1Miab7ZKJGi8xUtILD//tuIkCQQDc9P4Q5nKSgHJd\n"
	"ezU2ClymVoQ6uwbRSQJqci83+lAPUI1e5qAwl4ZDjZEvCl33PjaEZByGjMsFgyhz\n"
	"NHAQIJIjAkEAzZbnK84uU++20pjFnRLHjYVYfmbI8fUy2vmRMxpGp1OsjeV0nMMy\n"
	"XhMU8CEN2dhR7033z0VFHV2fz98TGmpJbQJALKs2pbIA3Y8sD6v10Ov9WP9Kkhj3\n"
	"Qt4Qp/ZXh2iKQN5XBiV3ovsvAH8hJ7Jf1rj0CoW2opjZ/k5KoieqtAfxowJAHN3d\n"
	"Y6c1lg+IihVtWdqzLknU3RqtiFu3Yku8eYJs/T2gcuQO9ZvqzI69V+IsQbQ//Ovj\n"
	"qbS+OZtVvyhBVGosGQJAesH08lAoGZkBpwxgdDo+Fk2Av7o6LCacWQhdY+EIzJ1v\n"
	"5JyJjXORLfRZHQ5xRlWTTlA8jGFb85dpnCWeYeSN5A==\n"
	"-----END RSA PRIVATE KEY-----\n";

int
fuzz_own_netns(void)
{
	static int done, ok;
	if (done++)
		return ok;
	if (unshare(CLONE_NEWNET) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
		fprintf(stderr, "fuzz target: no network namespace of its own (%s): every input is skipped\n",
		    strerror(errno));
		return 0;
	}
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	strcpy(ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		abort();
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		abort();
	close(fd);
	return ok = 1;
}
