/* fuzz_recording.c - the recording reader (cs_profile_decode) and every view behind it.
 *
 * Each input is decoded twice: as it is (the header, length and checksum checks) and
 * with its checksums made consistent (fz_recording_fix), so that mutations inside a
 * section reach the section decoders. Whatever decodes is rendered by every view. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

static void decode(const uint8_t *data, size_t n)
{
	struct cs_profile p;
	cs_profile_init(&p);
	fz_capture_begin();
	int r = cs_profile_decode(&p, data, n, "fuzz.data");
	fz_capture_end(r, "cs_profile_decode");
	if (r == 0 && p.times.wall) {
		/* a wall recording: the views see one selection of its time, as they do
		 * after the commands' cs_view_apply */
		static const unsigned sels[] = {CS_SEL_WALL, CS_SEL_OFF, CS_SEL_CPU,
						CS_SEL_BLOCKED};
		fz_capture_begin();
		r = cs_profile_select_time(&p, sels[fz_variant(data, n) % 4]);
		fz_capture_end(r, "cs_profile_select_time");
	}
	if (r == 0)
		fz_render_all(&p, fz_variant(data, n));
	cs_profile_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* cs_profile_load hands the decoder only what cs_profile_is_recording accepts. */
	if (!cs_profile_is_recording(data, size))
		return 0;
	size_t fixed_n;
	uint8_t *fixed = fz_recording_fix(data, size, 0, &fixed_n);
	if (fixed_n != size || memcmp(fixed, data, size))
		decode(data, size);
	decode(fixed, fixed_n);
	free(fixed);
	return 0;
}
