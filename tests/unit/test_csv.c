/* Unit tests for connectors/csv: the RFC 4180 dialect, line numbers, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csv.h"

struct src {
	FILE		*fp;
	struct csv	*csv;
	size_t		 len;
};

/* A reader over a temporary file holding exactly s[0..len). */
static struct src
src_open(const char *s, size_t len, size_t max_row)
{
	struct src src;

	src.fp = tmpfile();
	assert_non_null(src.fp);
	assert_int_equal(fwrite(s, 1, len, src.fp), len);
	rewind(src.fp);
	src.csv = csv_new_file(src.fp, max_row);
	src.len = len;
	return src;
}

static struct src
src_str(const char *s)
{
	return src_open(s, strlen(s), 0);
}

static void
src_close(struct src *src)
{
	csv_free(src->csv);
	fclose(src->fp);
}

/* Next row must be a good row at `line` with exactly the given fields. */
static void
expect_row(struct csv *c, uint64_t line, size_t n, ...)
{
	struct csv_row	row;
	va_list		ap;
	size_t		i;

	assert_int_equal(csv_next(c, &row), CSV_ROW);
	assert_int_equal(row.line, line);
	assert_int_equal(row.nfields, n);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		const char *want = va_arg(ap, const char *);

		assert_int_equal(row.fields[i].len, strlen(want));
		assert_memory_equal(row.fields[i].p, want, strlen(want));
		assert_int_equal(row.fields[i].p[row.fields[i].len], '\0');
	}
	va_end(ap);
}

static void
expect_bad(struct csv *c, uint64_t line, const char *reason)
{
	struct csv_row row;

	assert_int_equal(csv_next(c, &row), CSV_BAD);
	assert_int_equal(row.line, line);
	assert_string_equal(row.error, reason);
	assert_int_equal(row.nfields, 0);
}

static void
expect_eof(struct csv *c)
{
	struct csv_row row;

	assert_int_equal(csv_next(c, &row), CSV_EOF);
	assert_int_equal(csv_next(c, &row), CSV_EOF);	/* and stays there */
}

static void
quoted_fields_and_doubled_quotes(void **st)
{
	struct src s = src_str(
	    "a,\"b,c\",\"say \"\"hi\"\"\"\n"
	    "\"\",\"\"\"\"\n");

	(void)st;
	expect_row(s.csv, 1, 3, "a", "b,c", "say \"hi\"");
	expect_row(s.csv, 2, 2, "", "\"");
	expect_eof(s.csv);
	src_close(&s);
}

static void
crlf_line_ends_are_not_data(void **st)
{
	struct src s = src_str("a,b\r\n\"c\",d\r\ne\r\n");

	(void)st;
	expect_row(s.csv, 1, 2, "a", "b");
	expect_row(s.csv, 2, 2, "c", "d");
	expect_row(s.csv, 3, 1, "e");
	expect_eof(s.csv);
	src_close(&s);
}

static void
lone_cr_is_data(void **st)
{
	struct src s = src_str("a\rb,c\n");

	(void)st;
	expect_row(s.csv, 1, 2, "a\rb", "c");
	expect_eof(s.csv);
	src_close(&s);
}

static void
embedded_newlines_keep_line_numbers(void **st)
{
	struct src s = src_str(
	    "\"x\ny\",z\n"			/* lines 1-2 */
	    "next,row\n"			/* line 3 */
	    "\"p\r\n\r\nq\",r\r\n"		/* lines 4-6 */
	    "last,one\n");			/* line 7 */

	(void)st;
	expect_row(s.csv, 1, 2, "x\ny", "z");
	expect_row(s.csv, 3, 2, "next", "row");
	expect_row(s.csv, 4, 2, "p\r\n\r\nq", "r");
	expect_row(s.csv, 7, 2, "last", "one");
	expect_eof(s.csv);
	src_close(&s);
}

static void
missing_final_newline(void **st)
{
	struct src s = src_str("a,b\nc,d");
	struct src q = src_str("a\n\"c\"");

	(void)st;
	expect_row(s.csv, 1, 2, "a", "b");
	expect_row(s.csv, 2, 2, "c", "d");
	expect_eof(s.csv);
	assert_int_equal(csv_offset(s.csv), s.len);
	src_close(&s);

	expect_row(q.csv, 1, 1, "a");
	expect_row(q.csv, 2, 1, "c");
	expect_eof(q.csv);
	src_close(&q);
}

static void
empty_fields(void **st)
{
	struct src s = src_str(",,\na,,b\n,\n\"\",x,\"\"\nz,\n");

	(void)st;
	expect_row(s.csv, 1, 3, "", "", "");
	expect_row(s.csv, 2, 3, "a", "", "b");
	expect_row(s.csv, 3, 2, "", "");
	expect_row(s.csv, 4, 3, "", "x", "");
	expect_row(s.csv, 5, 2, "z", "");
	expect_eof(s.csv);
	src_close(&s);
}

static void
empty_lines_are_skipped_but_counted(void **st)
{
	struct src s = src_str("\n\r\na\n\n\r\n\nb\n\n");
	struct src e = src_str("");

	(void)st;
	expect_row(s.csv, 3, 1, "a");
	expect_row(s.csv, 7, 1, "b");
	expect_eof(s.csv);
	src_close(&s);

	expect_eof(e.csv);
	src_close(&e);
}

static void
literal_quote_inside_unquoted_field(void **st)
{
	struct src s = src_str("5\" screen,a\"\"b\n");

	(void)st;
	expect_row(s.csv, 1, 2, "5\" screen", "a\"\"b");
	expect_eof(s.csv);
	src_close(&s);
}

static void
text_after_closing_quote_is_a_bad_row(void **st)
{
	struct src s = src_str("\"ab\"c,d\nok,1\n\"x\"\ry\nok,2\n");

	(void)st;
	expect_bad(s.csv, 1, "unexpected character after closing quote");
	expect_row(s.csv, 2, 2, "ok", "1");
	expect_bad(s.csv, 3, "unexpected character after closing quote");
	expect_row(s.csv, 4, 2, "ok", "2");
	expect_eof(s.csv);
	src_close(&s);
}

static void
oversize_row_is_reported_and_skipped(void **st)
{
	/* Limit 8 = field bytes plus one per field: "abc,def" fits. */
	static const char in[] =
	    "abc,def\n"				/* 1: 3+1+3+1 = 8 */
	    "abc,defg\n"			/* 2: 9 */
	    "\"xxxxxxxxxxxxxxxx\nyy,\"\"\",b\n"	/* 3-4: quoted, spans */
	    ",,,,,,,,\n"			/* 5: nine empty fields */
	    "ok\n";				/* 6 */
	struct src s = src_open(in, sizeof in - 1, 8);

	(void)st;
	expect_row(s.csv, 1, 2, "abc", "def");
	expect_bad(s.csv, 2, "row longer than 8 bytes");
	expect_bad(s.csv, 3, "row longer than 8 bytes");
	expect_bad(s.csv, 5, "row longer than 8 bytes");
	expect_row(s.csv, 6, 1, "ok");
	expect_eof(s.csv);
	src_close(&s);
}

static void
oversize_default_limit_is_one_megabyte(void **st)
{
	size_t	n = CSV_MAX_ROW_DEFAULT + 10;
	char	*in = malloc(n + 16);
	struct src s;

	(void)st;
	assert_non_null(in);
	memset(in, 'a', n);
	memcpy(in + n, "\nnext\n", 6);
	s = src_open(in, n + 6, 0);
	expect_bad(s.csv, 1, "row longer than 1048576 bytes");
	expect_row(s.csv, 2, 1, "next");
	expect_eof(s.csv);
	src_close(&s);
	free(in);
}

static void
unterminated_quote_at_eof(void **st)
{
	struct src s = src_str("a,b\n\"abc,def\nxyz");

	(void)st;
	expect_row(s.csv, 1, 2, "a", "b");
	expect_bad(s.csv, 2, "unterminated quoted field");
	expect_eof(s.csv);
	src_close(&s);
}

static void
byte_order_mark_is_skipped(void **st)
{
	struct src s = src_str("\xef\xbb\xbfuser_id,x\nu1,2\n");
	struct src b = src_str("\xef\xbb");	/* shorter than a BOM */

	(void)st;
	expect_row(s.csv, 1, 2, "user_id", "x");
	expect_row(s.csv, 2, 2, "u1", "2");
	expect_eof(s.csv);
	src_close(&s);

	expect_row(b.csv, 1, 1, "\xef\xbb");
	expect_eof(b.csv);
	src_close(&b);
}

/*
 * CRLF and a doubled quote each split across the 1 MB read buffer: the
 * row ends and the unescaping must not depend on where reads stop.
 */
static void
tokens_split_across_buffer_refills(void **st)
{
	const size_t	 bufsize = 1024 * 1024;
	size_t		 n = bufsize + 64, pad;
	char		*in = malloc(n);
	struct src	 s;
	struct csv_row	 row;

	(void)st;
	assert_non_null(in);
	/* Row 1: one field ending with CR at bufsize-1, LF at bufsize. */
	pad = bufsize - 1;
	memset(in, 'a', pad);
	in[pad] = '\r';
	in[pad + 1] = '\n';
	memcpy(in + pad + 2, "\"q\"\"r\",s\n", 9);
	s = src_open(in, pad + 11, 2 * bufsize);
	assert_int_equal(csv_next(s.csv, &row), CSV_ROW);
	assert_int_equal(row.nfields, 1);
	assert_int_equal(row.fields[0].len, pad);
	expect_row(s.csv, 2, 2, "q\"r", "s");
	expect_eof(s.csv);
	src_close(&s);

	/* A doubled quote whose two halves straddle the boundary. */
	in[0] = '"';
	memset(in + 1, 'b', bufsize - 2);
	in[bufsize - 1] = '"';
	in[bufsize] = '"';
	memcpy(in + bufsize + 1, "c\",d\n", 5);
	s = src_open(in, bufsize + 6, 2 * bufsize);
	assert_int_equal(csv_next(s.csv, &row), CSV_ROW);
	assert_int_equal(row.line, 1);
	assert_int_equal(row.nfields, 2);
	assert_int_equal(row.fields[0].len, bufsize - 2 + 2);
	assert_memory_equal(row.fields[0].p + bufsize - 2, "\"c", 2);
	assert_string_equal(row.fields[1].p, "d");
	expect_eof(s.csv);
	src_close(&s);
	free(in);
}

static void
reads_from_a_descriptor(void **st)
{
	struct src	 s = src_str("h1,h2\r\nv1,\"v\n2\"\r\nv3,v4");
	struct csv	*c;

	(void)st;
	c = csv_new_fd(fileno(s.fp), 0);
	expect_row(c, 1, 2, "h1", "h2");
	expect_row(c, 2, 2, "v1", "v\n2");
	expect_row(c, 4, 2, "v3", "v4");
	expect_eof(c);
	assert_int_equal(csv_offset(c), s.len);
	csv_free(c);
	src_close(&s);
}

static void
read_error_is_reported(void **st)
{
	struct csv	*c = csv_new_fd(-1, 0);
	struct csv_row	 row;

	(void)st;
	assert_int_equal(csv_next(c, &row), CSV_ERROR);
	assert_string_equal(row.error, "read: Bad file descriptor");
	assert_int_equal(csv_next(c, &row), CSV_ERROR);
	csv_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quoted_fields_and_doubled_quotes),
		cmocka_unit_test(crlf_line_ends_are_not_data),
		cmocka_unit_test(lone_cr_is_data),
		cmocka_unit_test(embedded_newlines_keep_line_numbers),
		cmocka_unit_test(missing_final_newline),
		cmocka_unit_test(empty_fields),
		cmocka_unit_test(empty_lines_are_skipped_but_counted),
		cmocka_unit_test(literal_quote_inside_unquoted_field),
		cmocka_unit_test(text_after_closing_quote_is_a_bad_row),
		cmocka_unit_test(oversize_row_is_reported_and_skipped),
		cmocka_unit_test(oversize_default_limit_is_one_megabyte),
		cmocka_unit_test(unterminated_quote_at_eof),
		cmocka_unit_test(byte_order_mark_is_skipped),
		cmocka_unit_test(tokens_split_across_buffer_refills),
		cmocka_unit_test(reads_from_a_descriptor),
		cmocka_unit_test(read_error_is_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
