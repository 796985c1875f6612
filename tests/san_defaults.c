/* san_defaults.c - defaults of the sanitizer runtimes for the Criterion test programs of
 * a -DCSAMPLER_SANITIZE build (cmake/sanitize.cmake), so that running them by hand
 * behaves as under scripts/test. */

const char *__lsan_default_suppressions(void);
const char *__ubsan_default_options(void);

const char *__lsan_default_suppressions(void)
{
	/* Criterion's runner and its nanomsg transport keep a few allocations to the end. */
	return "leak:libcriterion.so\n"
	       "leak:libnanomsg.so\n";
}

const char *__ubsan_default_options(void)
{
	return "print_stacktrace=1";
}
