/*
 * fuzz_hll_decode: hll_decode on hostile sketches (the input is the whole
 * serialized sketch, as stored in the state and sent in metric records).
 * A sketch that decodes must estimate a finite, non-negative count, encode
 * into bytes that decode to an equal sketch with the same estimate and the
 * same bytes again, and be unchanged by a merge with itself.
 */
#include <math.h>

#include "fuzz.h"
#include "hll.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hll	*h, *back;
	struct enc	 e1, e2;
	char		*cause = NULL;
	double		 est;

	if ((h = hll_decode(data, size, &cause)) == NULL) {
		FUZZ_CHECK(cause != NULL);
		free(cause);
		return 0;
	}
	est = hll_estimate(h);
	FUZZ_CHECK(isfinite(est) && est >= 0);
	enc_init(&e1);
	enc_init(&e2);
	hll_encode(h, &e1);
	back = hll_decode(e1.buf, e1.len, &cause);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(hll_equal(h, back));
	FUZZ_CHECK(hll_estimate(back) == est);
	hll_encode(back, &e2);
	FUZZ_CHECK(e1.len == e2.len && memcmp(e1.buf, e2.buf, e1.len) == 0);
	FUZZ_CHECK(hll_merge(back, h) == 0);
	FUZZ_CHECK(hll_equal(h, back));
	hll_free(back);
	hll_free(h);
	enc_free(&e2);
	enc_free(&e1);
	return 0;
}
