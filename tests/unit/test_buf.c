/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/buf.h"

TEST(lines_crlf_and_lf)
{
	struct buf b = { 0 };
	char *line;
	size_t len;
	CHECK_INT(buf_append(&b, "a1 LOGIN x y\r\nb2 NOOP\npartial", 29), 0);
	CHECK_INT(buf_getline(&b, 100, &line, &len), 1);
	CHECK_STR(line, "a1 LOGIN x y");
	CHECK_INT(len, 12);
	CHECK_INT(buf_getline(&b, 100, &line, &len), 1);
	CHECK_STR(line, "b2 NOOP");
	CHECK_INT(buf_getline(&b, 100, &line, &len), 0);
	CHECK_INT(buf_len(&b), 7);
	CHECK_INT(buf_append(&b, "\r\n", 2), 0);
	CHECK_INT(buf_getline(&b, 100, &line, &len), 1);
	CHECK_STR(line, "partial");
	buf_shrink(&b);
	CHECK(b.mem == NULL);
}

TEST(line_limit)
{
	struct buf b = { 0 };
	char *line;
	size_t len;
	char big[70000];
	memset(big, 'x', sizeof(big));
	CHECK_INT(buf_append(&b, big, sizeof(big)), 0);
	CHECK_INT(buf_getline(&b, 65536, &line, &len), -1);
	buf_release(&b);
	/* exactly at the limit is fine, one more byte is not */
	CHECK_INT(buf_append(&b, big, 10), 0);
	CHECK_INT(buf_append(&b, "\r\n", 2), 0);
	CHECK_INT(buf_getline(&b, 10, &line, &len), 1);
	CHECK_INT(buf_append(&b, big, 11), 0);
	CHECK_INT(buf_append(&b, "\n", 1), 0);
	CHECK_INT(buf_getline(&b, 10, &line, &len), -1);
	CHECK_INT(buf_len(&b), 12);
	buf_release(&b);
}

TEST(space_compacts_and_grows)
{
	struct buf b = { 0 };
	size_t avail;
	char *p = buf_space(&b, 100, &avail);
	CHECK(p != NULL);
	CHECK_INT(avail, BUF_BLOCK);
	memset(p, 'a', BUF_BLOCK);
	buf_commit(&b, BUF_BLOCK);
	buf_consume(&b, BUF_BLOCK - 10);
	p = buf_space(&b, 100, &avail);
	CHECK(p != NULL);
	CHECK_INT(b.head, 0);
	CHECK_INT(buf_len(&b), 10);
	p = buf_space(&b, BUF_BLOCK * 2, &avail);
	CHECK(p != NULL && avail >= BUF_BLOCK * 2);
	CHECK_INT(buf_len(&b), 10);
	CHECK(memcmp(buf_data(&b), "aaaaaaaaaa", 10) == 0);
	buf_consume(&b, 10);
	CHECK(b.mem == NULL);
	buf_pool_drain();
}
