/* ctl_table: aligned, CSV or JSON output of query rows (see ctl_table.h). */
#include "ctl_table.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct table {
	enum table_format fmt;
	size_t            ncols;
	char            **cells;	/* row-major, header row first */
	size_t            nrows, caprows;
	bool             *numeric;
};

int
table_format_parse(const char *s, enum table_format *out)
{
	if (strcmp(s, "table") == 0 || strcmp(s, "text") == 0)
		*out = TABLE_TEXT;
	else if (strcmp(s, "csv") == 0)
		*out = TABLE_CSV;
	else if (strcmp(s, "json") == 0)
		*out = TABLE_JSON;
	else
		return -1;
	return 0;
}

struct table *
table_new(enum table_format fmt, size_t ncols, const char *const *headers)
{
	struct table *t = xcalloc(1, sizeof *t);

	t->fmt = fmt;
	t->ncols = ncols;
	t->numeric = xcalloc(ncols, sizeof *t->numeric);
	table_row(t, headers);
	return t;
}

void
table_set_numeric(struct table *t, size_t col)
{
	if (col < t->ncols)
		t->numeric[col] = true;
}

void
table_row(struct table *t, const char *const *cells)
{
	size_t i;

	t->cells = xgrow(t->cells, &t->caprows, (t->nrows + 1) * t->ncols,
	    sizeof *t->cells);
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = xstrdup(cells[i]);
	t->nrows++;
}

static void
csv_cell(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
rule(FILE *f, const size_t *w, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		fputc('+', f);
		for (j = 0; j < w[i]; j++)
			fputc('-', f);
	}
	fputs("+\n", f);
}

void
table_print(struct table *t, FILE *f)
{
	size_t r, c, *w;

	switch (t->fmt) {
	case TABLE_CSV:
		for (r = 0; r < t->nrows; r++) {
			for (c = 0; c < t->ncols; c++) {
				if (c)
					fputc(',', f);
				csv_cell(f, t->cells[r * t->ncols + c]);
			}
			fputc('\n', f);
		}
		return;
	case TABLE_JSON:
		for (r = 1; r < t->nrows; r++) {
			json_t *o = json_object();
			char *s;

			for (c = 0; c < t->ncols; c++) {
				const char *v = t->cells[r * t->ncols + c];

				json_object_set_new(o, t->cells[c],
				    t->numeric[c] ? json_real(strtod(v, NULL)) :
				    json_string(v));
				if (t->numeric[c] && strchr(v, '.') == NULL)
					json_object_set_new(o, t->cells[c],
					    json_integer(strtoll(v, NULL, 10)));
			}
			s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (s != NULL) {
				fprintf(f, "%s\n", s);
				free(s);
			}
			json_decref(o);
		}
		return;
	case TABLE_TEXT:
		break;
	}
	w = xcalloc(t->ncols, sizeof *w);
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);

			if (l > w[c])
				w[c] = l;
		}
	rule(f, w, t->ncols);
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++)
			fprintf(f, "|%*s", (int)w[c],
			    t->cells[r * t->ncols + c]);
		fputs("|\n", f);
		if (r == 0)
			rule(f, w, t->ncols);
	}
	rule(f, w, t->ncols);
	free(w);
}

void
table_free(struct table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->numeric);
	free(t);
}

void
format_double(double v, char *buf, size_t cap)
{
	int d;

	/* Fixed notation with the fewest decimals (at least one) that read
	 * back as v; sessions are in seconds with millisecond sums, so this
	 * always succeeds for them. */
	for (d = 1; d <= 17; d++) {
		snprintf(buf, cap, "%.*f", d, v);
		if (strtod(buf, NULL) == v)
			return;
	}
	snprintf(buf, cap, "%.17g", v);
}
