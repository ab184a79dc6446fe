/*
 * fuzz_codec_event: codec_decode_event on hostile values. The first byte
 * picks the format (avro, confluent, json: byte % 3) and bit 2 of it the
 * reader (set: avro-c's generic reader instead of the hand-written one);
 * the rest is the Kafka value. An event that decodes is encoded, decoded
 * and encoded again in the same format: the two encodings must be equal
 * (the encoding is a function of the fields, so a decoder that loses or
 * alters a field shows up here).
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct codec		*c = fuzz_codec();
	enum codec_format	 fmt;
	struct event		 ev;
	struct enc		 first, out;
	const char		*reason = NULL;
	char			*kept[2];

	if (size == 0)
		return 0;
	fmt = fuzz_format(data[0]);
	codec_set_fast_path(c, (data[0] & 4) == 0);
	if (codec_decode_event(c, fmt, data + 1, size - 1, &ev, &reason) != 0) {
		FUZZ_CHECK(reason != NULL);
		return 0;
	}
	kept[0] = fuzz_keep((struct strv *const []){ &ev.user_id,
	    &ev.action_type, &ev.page_id, &ev.app_version }, 4);
	enc_init(&first);
	enc_init(&out);
	FUZZ_CHECK(codec_encode_event(c, fmt, &ev, &first, &reason) == 0);
	FUZZ_CHECK(codec_decode_event(c, fmt, first.buf, first.len, &ev,
	    &reason) == 0);
	kept[1] = fuzz_keep((struct strv *const []){ &ev.user_id,
	    &ev.action_type, &ev.page_id, &ev.app_version }, 4);
	FUZZ_CHECK(codec_encode_event(c, fmt, &ev, &out, &reason) == 0);
	fuzz_same_free(&out, &first);
	free(kept[1]);
	free(kept[0]);
	return 0;
}
