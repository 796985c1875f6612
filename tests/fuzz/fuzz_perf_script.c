/* fuzz_perf_script.c - the `perf script` importer, with each of its options, and every
 * view behind it.
 *
 * The last byte of the input chooses the import options (bit 0 --pid, 1 --tid,
 * 2 --kernel, 3 --jit, 4 --addrs, 5 inline frames); the rest is the text. */
#include "fuzz.h"
#include "text.h"

#include "profile/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t bits = data[size - 1];
	size--;
	char *text = fz_text(data, size);
	if (!text)
		return 0;
	struct cs_import_opts o = {
	    .pid = bits & 1,
	    .tid = (bits >> 1) & 1,
	    .kernel = (bits >> 2) & 1,
	    .jit = (bits >> 3) & 1,
	    .addrs = (bits >> 4) & 1,
	    .inline_frames = (bits >> 5) & 1,
	};
	(void)cs_looks_perf_script(text, size);
	struct cs_profile p;
	cs_profile_init(&p);
	fz_capture_begin();
	int r = cs_import_perf_script(&p, text, size, "fuzz.perf", &o);
	fz_capture_end(r, "cs_import_perf_script");
	if (r == 0)
		fz_render_all(&p, fz_variant(data, size));
	cs_profile_release(&p);
	free(text);
	return 0;
}
