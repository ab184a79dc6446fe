/*
 * csv: a streaming RFC 4180 reader.
 *
 * Reads rows from a file descriptor or a FILE* through one large buffer and
 * returns each row as an array of field views. The dialect is RFC 4180 with
 * the usual tolerances:
 *   - fields are separated by ',' and rows end with LF or CRLF; the last
 *     row may lack its terminator;
 *   - a field that starts with '"' is quoted: it may hold ',', CR, LF and
 *     doubled quotes ("" stands for one '"'); after its closing quote only
 *     ',' or the end of the row may follow;
 *   - a '"' inside an unquoted field is kept as a literal character;
 *   - a UTF-8 byte order mark at the start of the input is skipped;
 *   - empty lines (outside quotes) are skipped, they are not rows.
 *
 * Every field is unescaped into the reader's scratch buffer and followed by
 * a NUL there (not counted in its length), so a field can be handed to
 * functions that want a C string. Views stay valid until the next
 * csv_next() or csv_free().
 *
 * A row longer than the reader's limit (bytes of field data plus one per
 * field) is not buffered: the reader skips to the row's end and returns it
 * as a bad row, so hostile input cannot make it allocate without bound.
 * Rows are numbered by the line on which they start (1-based), so a row
 * after a quoted field that spans lines gets its true line number.
 */
#ifndef AD_CSV_H
#define AD_CSV_H

#include <stdint.h>
#include <stdio.h>

#include "event.h"		/* struct strv */

#define CSV_MAX_ROW_DEFAULT	(1024 * 1024)

enum csv_status {
	CSV_ERROR = -1,		/* read error: row.error says why; stop */
	CSV_EOF = 0,		/* no more rows */
	CSV_ROW = 1,		/* a row: fields, nfields, line */
	CSV_BAD = 2,		/* a malformed row, skipped: line, error */
};

struct csv_row {
	const struct strv *fields;
	size_t		   nfields;
	uint64_t	   line;	/* line where the row starts, 1-based */
	const char	  *error;	/* CSV_BAD / CSV_ERROR: the reason */
};

struct csv;

/*
 * A reader over an open descriptor or stream, which stays the caller's
 * (csv_free does not close it). max_row 0 means CSV_MAX_ROW_DEFAULT.
 */
struct csv	*csv_new_fd(int fd, size_t max_row);
struct csv	*csv_new_file(FILE *, size_t max_row);
void		 csv_free(struct csv *);

/* Reads the next row into *row; returns an enum csv_status. */
int		 csv_next(struct csv *, struct csv_row *row);

/* Input bytes consumed so far (for progress reports). */
uint64_t	 csv_offset(const struct csv *);

#endif
