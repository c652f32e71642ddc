/* SPDX-License-Identifier: MIT */
#include "core/tab.h"

#include <string.h>

#define TAB_ESC	'\001'

void
tab_escape(struct strbuf *sb, const char *s)
{
	char esc[2] = { TAB_ESC, 0 };

	for (;;) {
		size_t n = strcspn(s, "\001\t\r\n");
		strbuf_append(sb, s, n);
		s += n;
		switch (*s) {
		case '\0':
			return;
		case TAB_ESC:
			esc[1] = '1';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		default:
			esc[1] = 'n';
			break;
		}
		strbuf_append(sb, esc, 2);
		s++;
	}
}

size_t
tab_unescape(char *s)
{
	char *p = strchr(s, TAB_ESC), *d;

	if (p == NULL)
		return strlen(s);
	for (d = p; *p != '\0'; p++) {
		if (*p != TAB_ESC) {
			*d++ = *p;
			continue;
		}
		switch (*++p) {
		case '\0':
			/* a trailing lone escape: drop it, and stop before the NUL */
			p--;
			break;
		case '0':
			*d++ = '\0';
			break;
		case '1':
			*d++ = TAB_ESC;
			break;
		case 't':
			*d++ = '\t';
			break;
		case 'r':
			*d++ = '\r';
			break;
		case 'n':
			*d++ = '\n';
			break;
		default:
			*d++ = *p;
			break;
		}
	}
	*d = '\0';
	return (size_t)(d - s);
}

size_t
tab_split_lens(char *line, char **fields, size_t *lens, size_t max)
{
	size_t n = 0;
	char *p = line, *tab;

	for (;;) {
		if (n == max)
			return max + 1;
		tab = strchr(p, '\t');
		if (tab != NULL)
			*tab = '\0';
		fields[n] = p;
		size_t len = tab_unescape(p);
		if (lens != NULL)
			lens[n] = len;
		n++;
		if (tab == NULL)
			return n;
		p = tab + 1;
	}
}

size_t
tab_split(char *line, char **fields, size_t max)
{
	return tab_split_lens(line, fields, NULL, max);
}
