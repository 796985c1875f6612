/* fuzz_folded.c - the folded-stacks importer and every view behind it. */
#include "fuzz.h"
#include "text.h"

#include "profile/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_text(data, size);
	if (!text)
		return 0;
	/* cs_profile_load asks first; the answer must not crash either */
	(void)cs_looks_folded(text, size);
	struct cs_profile p;
	cs_profile_init(&p);
	fz_capture_begin();
	int r = cs_import_folded(&p, text, size, "fuzz.folded");
	fz_capture_end(r, "cs_import_folded");
	if (r == 0)
		fz_render_all(&p, fz_variant(data, size));
	cs_profile_release(&p);
	free(text);
	return 0;
}
