/* xmalloc: allocation that cannot fail (see xmalloc.h). */
#include "xmalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("activityd: fatal: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		fatalx("out of memory allocating %zu bytes", size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		fatalx("out of memory allocating %zu x %zu bytes", nmemb, size);
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		fatalx("out of memory reallocating %zu bytes", size);
	return p;
}

/* Grows *cap by a factor of (den + 1) / den until it holds need. */
static void *
grow_by(void *ptr, size_t *cap, size_t need, size_t elem_size,
    unsigned den)
{
	size_t ncap = *cap ? *cap : 4;

	if (need <= *cap)
		return ptr;
	while (ncap < need) {
		if (ncap > ((size_t)-1) / 2 / elem_size)
			fatalx("array too large");
		ncap += ncap / den > 0 ? ncap / den : 1;
	}
	ptr = xrealloc(ptr, ncap * elem_size);
	*cap = ncap;
	return ptr;
}

void *
xgrow_to(void *ptr, size_t *cap, size_t need, size_t elem_size)
{
	return grow_by(ptr, cap, need, elem_size, 1);
}

void *
xgrow_half(void *ptr, size_t *cap, size_t need, size_t elem_size)
{
	return grow_by(ptr, cap, need, elem_size, 2);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void *
xmemdup(const void *src, size_t n)
{
	void *p = xmalloc(n);

	if (n)
		memcpy(p, src, n);
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		fatalx("out of memory formatting a string");
	va_end(ap);
	return s;
}
