/* pyembed.c - a program that embeds CPython through libpython3.11.so (built only where
 * python3-embed.pc is installed): Python frames must be found in a library too. */
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>

static const char script[] =
	"import sys, time, zlib\n"
	"D = bytes(range(256)) * 2048\n"
	"class Embedded:\n"
	"    def run(self, secs):\n"
	"        end = time.monotonic() + secs\n"
	"        while time.monotonic() < end:\n"
	"            zlib.compress(D, 6)\n"
	"Embedded().run(float(sys.argv[1]))\n";

int main(int argc, char **argv)
{
	PyConfig config;
	PyConfig_InitPythonConfig(&config);
	config.parse_argv = 0; /* sys.argv as given, not python3's options */
	char *args[] = {argv[0], argc > 1 ? argv[1] : "2"};
	PyConfig_SetBytesArgv(&config, 2, args);
	Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	int rc = PyRun_SimpleString(script);
	if (Py_FinalizeEx() < 0)
		rc = 1;
	return rc ? 1 : 0;
}
