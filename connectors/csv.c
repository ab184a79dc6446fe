/*
 * csv: a streaming RFC 4180 reader (see csv.h for the dialect).
 *
 * One byte at a time through an inlined getter over a 1 MB buffer; the
 * state machine per row is "field start -> quoted or unquoted -> separator
 * or row end". Field bytes go to a scratch buffer that grows up to the row
 * limit and is then frozen: the rest of an oversize row is parsed (to find
 * its real end, quotes included) but not stored.
 */
#include "csv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmalloc.h"

#define CSV_BUFSIZE	(1024 * 1024)
#define CSV_EOF_CH	(-1)
#define CSV_ERR_CH	(-2)
#define CSV_EOL		(-3)	/* row end seen, its line already counted */

struct csv {
	int		 fd;
	FILE		*fp;		/* used when not NULL, else fd */

	uint8_t		*buf;
	size_t		 pos;
	size_t		 len;
	uint64_t	 base;		/* input offset of buf[0] */
	bool		 eof;
	bool		 failed;
	bool		 started;	/* BOM check done */
	uint64_t	 line;		/* line of the next unread byte */

	size_t		 max_row;
	char		*scratch;
	size_t		 slen;
	size_t		 scap;
	bool		 overflow;	/* row exceeded max_row: stop storing */

	struct strv	*fields;
	size_t		*foff;
	size_t		 nf;
	size_t		 fcap;
	size_t		 fstart;	/* scratch offset of the current field */

	char		 toolong[64];
	char		 errbuf[128];
};

static struct csv *
csv_new(int fd, FILE *fp, size_t max_row)
{
	struct csv *c = xcalloc(1, sizeof *c);

	c->fd = fd;
	c->fp = fp;
	c->buf = xmalloc(CSV_BUFSIZE);
	c->line = 1;
	c->max_row = max_row ? max_row : CSV_MAX_ROW_DEFAULT;
	c->scap = c->max_row < 4096 ? c->max_row : 4096;
	c->scratch = xmalloc(c->scap);
	snprintf(c->toolong, sizeof c->toolong, "row longer than %zu bytes",
	    c->max_row);
	return c;
}

struct csv *
csv_new_fd(int fd, size_t max_row)
{
	return csv_new(fd, NULL, max_row);
}

struct csv *
csv_new_file(FILE *fp, size_t max_row)
{
	return csv_new(-1, fp, max_row);
}

void
csv_free(struct csv *c)
{
	if (c == NULL)
		return;
	free(c->buf);
	free(c->scratch);
	free(c->fields);
	free(c->foff);
	free(c);
}

uint64_t
csv_offset(const struct csv *c)
{
	return c->base + c->pos;
}

/* Reads more input at buf[len]; returns bytes read, 0 at EOF, -1 error. */
static ssize_t
csv_read(struct csv *c)
{
	size_t	room = CSV_BUFSIZE - c->len;
	ssize_t	n;

	if (c->eof)
		return 0;
	if (c->fp != NULL) {
		n = (ssize_t)fread(c->buf + c->len, 1, room, c->fp);
		if (n == 0 && ferror(c->fp)) {
			snprintf(c->errbuf, sizeof c->errbuf, "read error");
			return -1;
		}
	} else {
		do
			n = read(c->fd, c->buf + c->len, room);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			snprintf(c->errbuf, sizeof c->errbuf, "read: %s",
			    strerror(errno));
			return -1;
		}
	}
	if (n == 0)
		c->eof = true;
	c->len += (size_t)n;
	return n;
}

/* Slow path of csv_getc: the buffer is used up. */
static int
csv_refill(struct csv *c)
{
	ssize_t n;

	if (c->failed)
		return CSV_ERR_CH;
	c->base += c->len;
	c->pos = c->len = 0;
	n = csv_read(c);
	if (n < 0) {
		c->failed = true;
		return CSV_ERR_CH;
	}
	if (n == 0)
		return CSV_EOF_CH;
	return c->buf[c->pos++];
}

static inline int
csv_getc(struct csv *c)
{
	if (c->pos < c->len)
		return c->buf[c->pos++];
	return csv_refill(c);
}

/* Puts back the byte csv_getc just returned (never EOF or error). */
static inline void
csv_ungetc(struct csv *c)
{
	c->pos--;
}

/* Skips a UTF-8 byte order mark at the very start of the input. */
static int
csv_skip_bom(struct csv *c)
{
	static const uint8_t bom[3] = { 0xef, 0xbb, 0xbf };

	c->started = true;
	while (c->len < sizeof bom && !c->eof) {
		if (csv_read(c) < 0) {
			c->failed = true;
			return -1;
		}
	}
	if (c->len >= sizeof bom && memcmp(c->buf, bom, sizeof bom) == 0)
		c->pos = sizeof bom;
	return 0;
}

/* Appends one byte of field data unless the row is over its limit. */
static inline void
csv_put(struct csv *c, int ch)
{
	if (c->slen == c->scap) {
		if (c->overflow || c->scap >= c->max_row) {
			c->overflow = true;
			return;
		}
		c->scap = c->scap > c->max_row / 2 ? c->max_row : c->scap * 2;
		c->scratch = xrealloc(c->scratch, c->scap);
	}
	c->scratch[c->slen++] = (char)ch;
}

/* Ends the current field: NUL-terminates it and records its view. */
static void
csv_end_field(struct csv *c)
{
	size_t len = c->slen - c->fstart;

	csv_put(c, '\0');
	if (c->overflow)
		return;
	if (c->nf == c->fcap) {
		size_t cap = c->fcap;

		c->fields = xgrow(c->fields, &c->fcap, c->nf + 1,
		    sizeof *c->fields);
		c->foff = xgrow(c->foff, &cap, c->nf + 1, sizeof *c->foff);
	}
	c->foff[c->nf] = c->fstart;
	c->fields[c->nf].len = len;
	c->nf++;
	c->fstart = c->slen;
}

/*
 * After a CR outside quotes: a following LF makes it a row end (returns
 * true, LF consumed and counted), as does the end of input; anything else
 * is put back and the CR is data.
 */
static bool
csv_crlf(struct csv *c)
{
	int ch = csv_getc(c);

	if (ch == '\n') {
		c->line++;
		return true;
	}
	if (ch >= 0)
		csv_ungetc(c);
	return ch == CSV_EOF_CH;	/* a CR ending the input ends the row */
}

/*
 * Reads the rest of a quoted field after its opening quote. Returns the
 * first byte after the closing quote, CSV_EOF_CH if the input ends inside
 * the quotes (*unterminated set) or CSV_ERR_CH.
 */
static int
csv_quoted(struct csv *c, bool *unterminated)
{
	int ch;

	for (;;) {
		ch = csv_getc(c);
		if (ch < 0) {
			*unterminated = ch == CSV_EOF_CH;
			return ch;
		}
		if (ch == '"') {
			ch = csv_getc(c);
			if (ch != '"')
				return ch;
		} else if (ch == '\n')
			c->line++;
		csv_put(c, ch);
	}
}

int
csv_next(struct csv *c, struct csv_row *row)
{
	const char	*bad;
	bool		 unterminated;
	size_t		 i;
	int		 ch;

	memset(row, 0, sizeof *row);
	if (!c->started && csv_skip_bom(c) < 0)
		goto fail;
again:
	if (c->failed)
		goto fail;
	c->slen = c->nf = c->fstart = 0;
	c->overflow = false;
	bad = NULL;
	unterminated = false;
	row->line = c->line;

	ch = csv_getc(c);
	if (ch == CSV_EOF_CH)
		return CSV_EOF;
	if (ch == '\n') {
		c->line++;
		goto again;	/* an empty line is not a row */
	}
	if (ch == '\r' && csv_crlf(c))
		goto again;

	for (;;) {		/* one field per turn; ch is its first byte */
		if (ch == '"') {
			ch = csv_quoted(c, &unterminated);
			if (unterminated) {
				bad = "unterminated quoted field";
				break;
			}
			if (ch == '\r')
				ch = csv_crlf(c) ? CSV_EOL : '\r';
			if (ch >= 0 && ch != ',' && ch != '\n' && bad == NULL)
				bad = "unexpected character after closing quote";
		}
		/* Unquoted bytes (or the junk after a closing quote). */
		while (ch >= 0 && ch != ',') {
			if (ch == '\n') {
				c->line++;
				ch = CSV_EOL;
				break;
			}
			if (ch == '\r' && csv_crlf(c)) {
				ch = CSV_EOL;
				break;
			}
			csv_put(c, ch);
			ch = csv_getc(c);
		}
		if (ch == CSV_ERR_CH)
			goto fail;
		csv_end_field(c);
		if (ch != ',')
			break;
		ch = csv_getc(c);
	}

	if (bad == NULL && c->overflow)
		bad = c->toolong;
	if (bad != NULL) {
		row->error = bad;
		return CSV_BAD;
	}
	for (i = 0; i < c->nf; i++)
		c->fields[i].p = c->scratch + c->foff[i];
	row->fields = c->fields;
	row->nfields = c->nf;
	return CSV_ROW;

fail:
	if (c->errbuf[0] == '\0')
		snprintf(c->errbuf, sizeof c->errbuf, "read error");
	row->error = c->errbuf;
	return CSV_ERROR;
}
