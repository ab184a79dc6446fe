/*
 * ctl_table: the output of activityctl's queries: an aligned table (the
 * default, framed like Spark's show()), CSV (RFC 4180) or JSON lines.
 */
#ifndef AD_CTL_TABLE_H
#define AD_CTL_TABLE_H

#include <stdio.h>

enum table_format {
	TABLE_TEXT,
	TABLE_CSV,
	TABLE_JSON
};

struct table;

/* "table"|"text", "csv" or "json"; -1 if unknown. */
int table_format_parse(const char *s, enum table_format *out);
struct table *table_new(enum table_format, size_t ncols,
    const char *const *headers);
/* Adds a row of ncols cells (copied). In JSON, a cell whose column is
 * numeric (table_set_numeric) is written as a number. */
void table_row(struct table *, const char *const *cells);
void table_set_numeric(struct table *, size_t col);
void table_print(struct table *, FILE *);
void table_free(struct table *);

/* Shortest decimal that reads back as the same double, always with a
 * fraction (Java's Double.toString style: "88.297", "100.0"). */
void format_double(double v, char *buf, size_t cap);

#endif
