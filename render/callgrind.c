#include "view.h"
int cs_render_callgrind(const struct cs_profile *p, const struct cs_view_opts *o, FILE *out)
{
	(void)p; (void)o; (void)out;
	return cs_error("not yet");
}
