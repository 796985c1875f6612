/* The flamegraph without its script, as an <img>, an image viewer or a repository's
 * file view shows it: rsvg-convert (librsvg2-bin) renders the SVG to PNG, and the
 * pixels where the widest frames must be are frame colours, where no frame is, the
 * background. Skips, saying why, when rsvg-convert is not installed. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "profile/import.h"
#include "render/flame.h"

/* ---- a PNG reader: 8-bit RGB or RGBA, not interlaced (what rsvg-convert writes) ---- */

struct image {
	uint32_t w, h;
	uint8_t *rgb; /* 3 bytes a pixel */
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

static void png_read(const char *path, struct image *im)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "rsvg-convert wrote %s", path);
	uint8_t *file = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n + 65536 > cap)
			file = realloc(file, cap = cap * 2 + 65536);
		size_t got = fread(file + n, 1, 65536, f);
		if (!got)
			break;
		n += got;
	}
	fclose(f);
	cr_assert(n > 8 && !memcmp(file, "\x89PNG\r\n\x1a\n", 8), "a PNG file");
	uint8_t *idat = NULL;
	size_t idat_n = 0;
	int bpp = 0;
	for (size_t at = 8; at + 12 <= n;) {
		uint32_t len = be32(file + at);
		const uint8_t *type = file + at + 4, *data = file + at + 8;
		cr_assert(at + 12 + (size_t)len <= n, "a whole chunk");
		if (!memcmp(type, "IHDR", 4)) {
			im->w = be32(data);
			im->h = be32(data + 4);
			cr_assert_eq(data[8], 8, "8 bits a channel");
			cr_assert(data[9] == 6 || data[9] == 2, "RGB or RGBA");
			cr_assert_eq(data[12], 0, "not interlaced");
			bpp = data[9] == 6 ? 4 : 3;
		} else if (!memcmp(type, "IDAT", 4)) {
			idat = realloc(idat, idat_n + len);
			memcpy(idat + idat_n, data, len);
			idat_n += len;
		}
		at += 12 + (size_t)len;
	}
	cr_assert(bpp && im->w && im->h && im->w < 100000 && im->h < 100000);
	size_t stride = (size_t)im->w * (size_t)bpp;
	uLongf raw_n = (uLongf)((stride + 1) * im->h);
	uint8_t *raw = malloc(raw_n);
	cr_assert_eq(uncompress(raw, &raw_n, idat, (uLong)idat_n), Z_OK);
	cr_assert_eq(raw_n, (stride + 1) * im->h);
	/* undo the per-row filters in place */
	for (uint32_t y = 0; y < im->h; y++) {
		uint8_t *row = raw + y * (stride + 1) + 1, *up = y ? row - stride - 1 : NULL;
		int filter = row[-1];
		for (size_t i = 0; i < stride; i++) {
			int a = i >= (size_t)bpp ? row[i - bpp] : 0, b = up ? up[i] : 0;
			int c = up && i >= (size_t)bpp ? up[i - bpp] : 0;
			int pred = filter == 1	 ? a
				   : filter == 2 ? b
				   : filter == 3 ? (a + b) / 2
				   : filter == 4 ? paeth(a, b, c)
						 : 0;
			row[i] = (uint8_t)(row[i] + pred);
		}
	}
	im->rgb = malloc((size_t)im->w * im->h * 3);
	for (uint32_t y = 0; y < im->h; y++)
		for (uint32_t x = 0; x < im->w; x++)
			memcpy(im->rgb + ((size_t)y * im->w + x) * 3,
			       raw + y * (stride + 1) + 1 + (size_t)x * (size_t)bpp, 3);
	free(raw);
	free(idat);
	free(file);
}

static uint32_t pixel(const struct image *im, double x, double y)
{
	cr_assert(x >= 0 && y >= 0 && x < im->w && y < im->h, "(%g, %g) is in the image", x, y);
	const uint8_t *p = im->rgb + ((size_t)y * im->w + (size_t)x) * 3;
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* ---- rendering ---- */

static int have_rsvg(void)
{
	const char *path = getenv("PATH");
	char dir[4096];
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		snprintf(dir, sizeof(dir), "%.*s/rsvg-convert", (int)n, p);
		if (!access(dir, X_OK))
			return 1;
		p += n + (p[n] == ':');
	}
	return 0;
}

struct drawn {
	char *svg;
	struct image im;
	double h;      /* of the SVG, as its height attribute says */
	double bottom; /* the space under the frames, as the table says */
};

/* Render folded text with options o, then the SVG to PNG with rsvg-convert. */
static void draw(const char *folded, const struct cs_flame_opts *o, struct drawn *d)
{
	if (!have_rsvg())
		cr_skip_test("rsvg-convert is not installed (apt-get install librsvg2-bin)");
	char dir[] = "/tmp/cs-static-XXXXXX";
	cr_assert(mkdtemp(dir));
	char svg[64], png[64];
	snprintf(svg, sizeof(svg), "%s/f.svg", dir);
	snprintf(png, sizeof(png), "%s/f.png", dir);
	struct cs_profile p;
	cs_profile_init(&p);
	cr_assert_eq(cs_import_folded(&p, folded, strlen(folded), "t"), 0);
	size_t len;
	FILE *f = open_memstream(&d->svg, &len);
	cr_assert_eq(cs_render_flame(&p, o, f), 0);
	fclose(f);
	cs_profile_release(&p);
	f = fopen(svg, "w");
	fwrite(d->svg, 1, len, f);
	cr_assert_eq(fclose(f), 0);
	const char *ha = strstr(d->svg, " height=\"");
	cr_assert(ha);
	d->h = atof(ha + 9);
	const char *bo = strstr(d->svg, "\"bottom\": ");
	cr_assert(bo);
	d->bottom = atof(bo + 10);

	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execlp("rsvg-convert", "rsvg-convert", "-f", "png", "-o", png, svg, (char *)NULL);
		_exit(127);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "rsvg-convert renders the SVG");
	png_read(png, &d->im);
	unlink(svg);
	unlink(png);
	rmdir(dir);
}

static void release(struct drawn *d)
{
	free(d->svg);
	free(d->im.rgb);
}

/* The fill of the static frame whose <title> starts with "name (". */
static uint32_t fill_of(const struct drawn *d, const char *name)
{
	char key[256];
	snprintf(key, sizeof(key), "<title>%s (", name);
	const char *t = strstr(d->svg, key);
	cr_assert(t, "a static frame titled %s", name);
	const char *fill = strstr(t, " fill=\"#");
	cr_assert(fill);
	return (uint32_t)strtoul(fill + 8, NULL, 16);
}

/* Default geometry: 1200 px wide, 10 px margins, 16 px rows. */
#define X(frac)		 (10 + 1180 * (frac))
#define ROW_UP(d, depth) ((d)->h - (d)->bottom - ((depth) + 1) * 16 + 7.5) /* mid-row */
#define ROW_DOWN(depth)	 (55.2 + (depth)*16 + 7.5)

static int near(uint32_t a, uint32_t b, int tol)
{
	for (int s = 0; s < 24; s += 8) {
		int x = (int)((a >> s) & 0xff), y = (int)((b >> s) & 0xff);
		if (abs(x - y) > tol)
			return 0;
	}
	return 1;
}

Test(flame_static, frames_are_drawn_where_they_must_be)
{
	struct drawn d;
	struct cs_flame_opts o = {0};
	draw("main;a;x 60\nmain;a;y 20\nmain;b 20\n", &o, &d);
	cr_expect_eq(d.im.w, 1200);
	cr_expect_geq(d.im.h, (uint32_t)d.h);
	/* the background: the margin left of the frames, on the root's row */
	uint32_t bg = pixel(&d.im, 3, ROW_UP(&d, 0));
	struct {
		const char *name;
		double x;
		int depth;
	} want[] = {
	    {"all", X(0.5), 0}, {"main", X(0.5), 1}, {"main", X(0.98), 1}, {"a", X(0.4), 2},
	    {"b", X(0.9), 2},	{"x", X(0.3), 3},    {"y", X(0.7), 3},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint32_t fill = fill_of(&d, want[i].name);
		uint32_t got = pixel(&d.im, want[i].x, ROW_UP(&d, want[i].depth));
		cr_expect(!near(fill, bg, 8), "%s: a frame colour, not the background",
			  want[i].name);
		cr_expect(near(got, fill, 2), "%s at (%g, %d): #%06x, not its colour #%06x",
			  want[i].name, want[i].x, want[i].depth, got, fill);
	}
	/* nothing above b, nor above x and y, nor right of the frames */
	double empty[][2] = {
	    {X(0.9), ROW_UP(&d, 3)}, {X(0.5), ROW_UP(&d, 4)}, {1196, ROW_UP(&d, 1)}};
	for (size_t i = 0; i < 3; i++) {
		uint32_t here = pixel(&d.im, empty[i][0], empty[i][1]);
		uint32_t margin = pixel(&d.im, 3, empty[i][1]);
		cr_expect(near(here, margin, 2), "(%g, %g) is background: #%06x, not #%06x",
			  empty[i][0], empty[i][1], here, margin);
	}
	/* the label of main is written in it: dark pixels on its left end */
	int dark = 0;
	for (int x = 13; x < 50; x++)
		for (int y = -5; y <= 5; y++)
			dark += (pixel(&d.im, x, ROW_UP(&d, 1) + y) & 0xff) < 90;
	cr_expect_gt(dark, 10, "the label 'main' is drawn");
	release(&d);
}

Test(flame_static, icicle_root_on_top_and_merged_frames_hatched)
{
	struct drawn d;
	struct cs_flame_opts o = {0};
	o.inverted = 1;
	o.minwidth = 5;
	char text[4096] = "main;big 9000\n";
	for (int i = 0; i < 50; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "main;tiny%02d 2\n", i);
	draw(text, &o, &d);
	cr_expect(near(pixel(&d.im, X(0.5), ROW_DOWN(0)), fill_of(&d, "all"), 2), "root on top");
	cr_expect(near(pixel(&d.im, X(0.5), ROW_DOWN(2)), fill_of(&d, "big"), 2));
	cr_expect(near(pixel(&d.im, X(0.5), ROW_DOWN(3)), pixel(&d.im, 3, ROW_DOWN(3)), 2),
		  "nothing below big");
	/* the 50 tiny frames are one hatched frame at the right end of row 2: both colours
	 * of the hatching show */
	int light = 0, darker = 0;
	for (double x = X(9000.0 / 9100) + 1; x < X(1) - 1; x++)
		for (int y = -5; y <= 5; y++) {
			uint32_t c = pixel(&d.im, x, ROW_DOWN(2) + y);
			light += near(c, 0xcfcfcf, 6);
			darker += near(c, 0xa9a9a9, 6);
		}
	cr_expect(light > 5 && darker > 5, "hatched: %d light, %d dark pixels", light, darker);
	release(&d);
}

Test(flame_static, a_cut_chain_is_drawn_and_said)
{
	struct drawn d;
	struct cs_flame_opts o = {0};
	o.max_frames = 16;
	draw("f0;f1;f2;f3;f4;f5;f6;f7;f8;f9;f10;f11;f12;f13;f14;f15;f16 5\n", &o, &d);
	cr_expect(near(pixel(&d.im, X(0.5), ROW_UP(&d, 14)), fill_of(&d, "f13"), 2));
	int light = 0, darker = 0;
	for (int x = 300; x < 400; x++) {
		uint32_t c = pixel(&d.im, x, ROW_UP(&d, 15));
		light += near(c, 0xe9d2d2, 6);
		darker += near(c, 0xb86f6f, 6);
	}
	cr_expect(light > 5 && darker > 5, "the cut frame: %d light, %d dark pixels", light,
		  darker);
	/* the note under the frames is written: its baseline is 13 px above the bottom */
	cr_expect_eq(d.bottom, 34 + 18, "a row more for the note");
	int dark = 0;
	for (int x = 10; x < 300; x++)
		for (int y = -9; y <= 0; y++)
			dark += (pixel(&d.im, x, d.h - 13 + y) & 0xff) < 90;
	cr_expect_gt(dark, 20, "the note says what was cut");
	release(&d);
}
