/*
 * fuzz_codec_meta: codec_decode_meta on hostile metadata values, and
 * codec_tombstone on hostile keys. The first byte picks the format
 * (byte % 3), bit 2 the reader (set: avro-c's generic one) and bit 3 a
 * tombstone, whose key is the rest of the input. A record that decodes is
 * encoded, decoded and encoded again: the two encodings must be equal.
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct codec		*c = fuzz_codec();
	enum codec_format	 fmt;
	struct meta_rec		 m, again;
	struct enc		 out, first;
	const char		*reason = NULL;
	char			*kept[2];

	if (size == 0)
		return 0;
	fmt = fuzz_format(data[0]);
	if (data[0] & 8) {
		if (codec_tombstone(data + 1, size - 1, &m, &reason) != 0) {
			FUZZ_CHECK(reason != NULL);
			return 0;
		}
		FUZZ_CHECK(m.tombstone);
		FUZZ_CHECK(m.user_id.len == size - 1);
		return 0;
	}
	codec_set_fast_path(c, (data[0] & 4) == 0);
	if (codec_decode_meta(c, fmt, data + 1, size - 1, &m, &reason) != 0) {
		FUZZ_CHECK(reason != NULL);
		return 0;
	}
	FUZZ_CHECK(!m.tombstone);
	kept[0] = fuzz_keep((struct strv *const []){ &m.user_id,
	    &m.dims[0], &m.dims[1], &m.dims[2] }, 4);
	enc_init(&first);
	enc_init(&out);
	FUZZ_CHECK(codec_encode_meta(c, fmt, &m, &first, &reason) == 0);
	FUZZ_CHECK(codec_decode_meta(c, fmt, first.buf, first.len, &again,
	    &reason) == 0);
	kept[1] = fuzz_keep((struct strv *const []){ &again.user_id,
	    &again.dims[0], &again.dims[1], &again.dims[2] }, 4);
	FUZZ_CHECK(codec_encode_meta(c, fmt, &again, &out, &reason) == 0);
	fuzz_same_free(&out, &first);
	free(kept[1]);
	free(kept[0]);
	return 0;
}
