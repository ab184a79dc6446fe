/*
 * fuzz_codec_json_out: codec_to_json, the decoder of the inspection tools
 * (activityctl tail), on hostile values of every schema. The first byte
 * picks the format (byte % 3) and the schema ((byte / 3) % 4: interaction,
 * metadata, session, metric); the rest is the value. A value that decodes
 * must give a JSON object that serializes.
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct codec		*c = fuzz_codec();
	enum codec_schema	 schema;
	json_t			*j;
	char			*text;
	const char		*reason = NULL;

	if (size == 0)
		return 0;
	schema = (enum codec_schema)((data[0] / 3) % CODEC_NSCHEMAS);
	j = codec_to_json(c, schema, fuzz_format(data[0]), data + 1, size - 1,
	    &reason);
	if (j == NULL) {
		FUZZ_CHECK(reason != NULL);
		return 0;
	}
	FUZZ_CHECK(json_is_object(j));
	text = json_dumps(j, JSON_COMPACT);
	FUZZ_CHECK(text != NULL);
	free(text);
	json_decref(j);
	return 0;
}
