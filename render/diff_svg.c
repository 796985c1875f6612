/* diff_svg.c - the differential flame graph. See diff.h. */
#include "diff.h"

int cs_render_diff_flame(const struct cs_diff *d, const struct cs_flame_opts *o, FILE *out)
{
	(void)d;
	(void)o;
	(void)out;
	return cs_error("the differential flame graph is not written yet");
}
