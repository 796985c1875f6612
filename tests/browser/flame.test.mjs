// flame.test.mjs - open SVGs made by `csampler flame` in headless Chromium and use them
// as a person would: click a frame, search, reset, hover, resize the window; and as an
// <img>, where no script runs and the static drawing must show. Run by ctest (test_browser)
// with CSAMPLER set to the binary; skips, saying why, only when /usr/bin/chromium or
// node_modules is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { inflateSync } from 'node:zlib';
import { existsSync, mkdtempSync, writeFileSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const CSAMPLER = process.env.CSAMPLER || join(here, '../../build/cli/csampler');
let skip = false;
if (!existsSync(CHROMIUM)) skip = `${CHROMIUM} is not installed (apt-get install chromium)`;
else if (!existsSync(join(here, 'node_modules/playwright-core')))
	skip = `node_modules is missing (run 'npm ci' in ${here})`;
else if (!existsSync(CSAMPLER)) skip = `no csampler binary at ${CSAMPLER} (set CSAMPLER)`;
if (skip) console.log(`# SKIP browser tests: ${skip}`);

const work = mkdtempSync(join(tmpdir(), 'cs-browser-'));
let context;

before(async () => {
	if (skip) return;
	const { chromium } = await import('playwright-core');
	context = await chromium.launchPersistentContext(join(work, 'profile'), {
		executablePath: CHROMIUM,
		headless: true,
		args: [
			'--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync',
		],
		viewport: { width: 1300, height: 900 },
	});
});

after(async () => {
	if (context) await context.close();
	rmSync(work, { recursive: true, force: true });
});

// Write INPUT (string or Buffer) and render it with the given options; returns the path.
function flame(name, input, opts = []) {
	const inp = join(work, name + '.in');
	const out = join(work, name + '.svg');
	writeFileSync(inp, input);
	execFileSync(CSAMPLER, ['flame', '-i', inp, ...opts, out], { timeout: 60000 }); // never hangs
	return out;
}

async function open(svg) {
	const page = await context.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(String(e)));
	page.on('dialog', (d) => {
		errors.push('unexpected dialog: ' + d.message());
		d.dismiss();
	});
	await page.goto('file://' + svg);
	await page.waitForFunction(() => window.csFlame !== undefined, null, { timeout: 10000 });
	return { page, errors };
}

const frames = (page) => page.evaluate(() => window.csFlame.frames());
const byName = (list, name) => list.filter((f) => f.name === name && !f.ancestor);

// Click the middle of the drawn frame called name, as a user would.
async function clickFrame(page, name) {
	const box = await page.evaluate((n) => {
		const list = window.csFlame.frames(); // in the order of the rects
		const k = list.findIndex((f) => f.name === n && !f.ancestor);
		if (k < 0) return null;
		const b = document.querySelectorAll('#cs-frames rect')[k].getBoundingClientRect();
		return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
	}, name);
	assert.ok(box, `frame ${name} is drawn`);
	await page.mouse.click(box.x, box.y);
}

// The graph fills the window: its width less the side margins.
const innerOf = async (page) => (await page.evaluate(() => window.csFlame.width)) - 20;

// The static drawing in the file: [{name, fill, x, width}] from each <title>d frame.
function staticFrames(svgPath) {
	const text = readFileSync(svgPath, 'utf8');
	const out = [];
	const re = /<g><title>([^<]*) \([^)]*\)<\/title><rect x="([^"]+)" y="[^"]+" width="([^"]+)"[^>]* fill="([^"]+)"/g;
	for (let m; (m = re.exec(text));)
		out.push({ name: m[1], x: +m[2], width: +m[3], fill: m[4] });
	return out;
}

// A minimal PNG decoder (8-bit RGB/RGBA, not interlaced): what Chromium screenshots are.
function decodePng(buf) {
	let w = 0, h = 0, bpp = 0;
	const idat = [];
	for (let at = 8; at < buf.length;) {
		const len = buf.readUInt32BE(at), type = buf.toString('latin1', at + 4, at + 8);
		const data = buf.subarray(at + 8, at + 8 + len);
		if (type === 'IHDR') {
			w = data.readUInt32BE(0);
			h = data.readUInt32BE(4);
			assert.equal(data[8], 8);
			bpp = data[9] === 6 ? 4 : 3;
		} else if (type === 'IDAT') idat.push(data);
		at += 12 + len;
	}
	const raw = inflateSync(Buffer.concat(idat));
	const stride = w * bpp;
	const px = Buffer.alloc(w * h * bpp);
	for (let y = 0; y < h; y++) {
		const f = raw[y * (stride + 1)];
		for (let i = 0; i < stride; i++) {
			const a = i >= bpp ? px[y * stride + i - bpp] : 0;
			const b = y ? px[(y - 1) * stride + i] : 0;
			const c = y && i >= bpp ? px[(y - 1) * stride + i - bpp] : 0;
			const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
			const pred = f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 :
				f === 4 ? (pa <= pb && pa <= pc ? a : pb <= pc ? b : c) : 0;
			px[y * stride + i] = (raw[y * (stride + 1) + 1 + i] + pred) & 0xff;
		}
	}
	return (x, y) => {
		const o = (y * w + x) * bpp;
		return '#' + [px[o], px[o + 1], px[o + 2]].map((v) => v.toString(16).padStart(2, '0')).join('');
	};
}

test('click zooms into a frame, reset restores the view', { skip }, async () => {
	const svg = flame('zoom', 'main;a;x 60\nmain;a;y 20\nmain;b 20\n');
	const { page, errors } = await open(svg);
	const INNER = await innerOf(page);
	let f = await frames(page);
	assert.deepEqual(f.map((x) => x.name).sort(), ['a', 'all', 'b', 'main', 'x', 'y']);
	assert.ok(Math.abs(byName(f, 'a')[0].width - INNER * 0.8) < 0.01);
	assert.equal(await page.locator('#cs-unzoom').isVisible(), false);

	await clickFrame(page, 'a');
	f = await frames(page);
	const a = byName(f, 'a')[0];
	assert.ok(Math.abs(a.width - INNER) < 0.01, 'the zoomed frame spans the width');
	assert.ok(Math.abs(byName(f, 'x')[0].width - INNER * 0.75) < 0.01);
	assert.equal(byName(f, 'b').length, 0, 'frames outside the zoomed one are gone');
	assert.deepEqual(f.filter((x) => x.ancestor).map((x) => x.name).sort(), ['all', 'main']);
	assert.equal(await page.locator('#cs-unzoom').isVisible(), true);

	await page.locator('#cs-unzoom').click();
	f = await frames(page);
	assert.equal(await page.evaluate(() => window.csFlame.zoomed), 0);
	assert.equal(byName(f, 'b').length, 1);
	assert.ok(Math.abs(byName(f, 'a')[0].width - INNER * 0.8) < 0.01);
	assert.equal(await page.locator('#cs-unzoom').isVisible(), false);
	assert.deepEqual(errors, []);
	await page.close();
});

test('search highlights matches and shows the matched share; Esc clears it', { skip }, async () => {
	const svg = flame('search', 'main;a;x 60\nmain;a;y 20\nmain;b;x 20\n');
	const { page, errors } = await open(svg);
	assert.equal(await page.locator('#cs-search').isVisible(), true, 'the script shows Search');
	page.removeAllListeners('dialog');
	page.once('dialog', (d) => d.accept('^[xy]$'));
	await page.keyboard.press('Control+f');
	await page.waitForFunction(() => document.getElementById('cs-matched').textContent.trim());
	const f = await frames(page);
	assert.deepEqual(f.filter((x) => x.matched).map((x) => x.name).sort(), ['x', 'x', 'y']);
	assert.equal(await page.locator('#cs-matched').textContent(), 'Matched: 100.00%');
	const fill = await page.evaluate(() => {
		const r = [...document.querySelectorAll('#cs-frames rect')];
		return r.filter((e) => e.getAttribute('fill') === 'rgb(230,0,230)').length;
	});
	assert.equal(fill, 3);
	assert.equal(await page.locator('#cs-search').textContent(), 'Reset Search');

	// A narrower search, then zoom: the share of the zoomed frame is shown too.
	await page.evaluate(() => window.csFlame.search('^y$'));
	assert.equal(await page.locator('#cs-matched').textContent(), 'Matched: 20.00%');
	await clickFrame(page, 'a');
	assert.equal(await page.locator('#cs-matched').textContent(),
		'Matched: 20.00% (25.00% of the zoomed frame)');

	await page.keyboard.press('Escape');
	assert.equal((await page.locator('#cs-matched').textContent()).trim(), '');
	assert.equal((await frames(page)).filter((x) => x.matched).length, 0);
	await page.keyboard.press('Escape'); // then Esc leaves the zoom
	assert.equal(await page.evaluate(() => window.csFlame.zoomed), 0);
	assert.deepEqual(errors, []);
	await page.close();
});

test('tooltips give name, samples, share, module and source line', { skip }, async () => {
	// perf script input: modules, kernel frames and the process name as the root
	const script = [
		'prog  4242/4243 [001] 5.100: 1001001 cpu-clock:ppp:',
		'\tffffffff8103ce3b native_safe_halt+0x1b ([kernel.kallsyms])',
		'\t    7f00000011a0 work+0x1f (/usr/bin/prog)',
		'\t    7f0000001100 main+0x30 (/usr/bin/prog)',
		'',
		'prog  4242/4243 [001] 5.200: 1001001 cpu-clock:ppp:',
		'\t    7f00000021a0 memcpy+0x10 (/usr/lib/libc.so.6)',
		'\t    7f0000001100 main+0x30 (/usr/bin/prog)',
		'',
	].join('\n');
	const svg = flame('tip', script);
	const { page, errors } = await open(svg);
	const names = (await frames(page)).map((x) => x.name).sort();
	assert.deepEqual(names, ['all', 'main', 'memcpy', 'native_safe_halt', 'prog', 'work']);
	const box = await page.evaluate(() => {
		for (const r of document.querySelectorAll('#cs-frames rect')) {
			if (r.csNode === window.csFlame.find('memcpy')) {
				const b = r.getBoundingClientRect();
				return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
			}
		}
	});
	await page.mouse.move(box.x, box.y);
	await page.waitForSelector('#cs-tip:not(.cs-hide)');
	const tip = await page.locator('#cs-tip text').evaluate((t) =>
		[...t.childNodes].map((n) => n.textContent));
	// perf script samples weigh their period, as in perf report
	assert.deepEqual(tip, ['memcpy', '1,001,001 samples, 50.00%',
		'self: 1,001,001 samples, 50.00%', 'kind: library', 'module: libc.so.6']);
	assert.equal(await page.locator('#cs-details').textContent(),
		'memcpy (1,001,001 samples, 50.00%)');
	const legend = await page.locator('#cs-legend').textContent();
	for (const k of ['user code', 'library', 'kernel']) assert.ok(legend.includes(k), legend);
	assert.deepEqual(errors, []);
	await page.close();
});

test('hostile names stay text: no markup, no script, well-formed', { skip }, async () => {
	const names = [
		'<script>alert(1)</script>', 'a &amp b &lt', '"quoted" \'single\'', 'end]]>cdata',
		'operator<<(std::ostream&, T const&)', 'line\u2028sep', '<img src=x onerror=alert(2)>',
	];
	const input = Buffer.concat([
		Buffer.from(names.map((n, i) => `main;${n} ${i + 1}\n`).join('')),
		Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x3b, 0x78, 0x20, 0x31, 0x0a]), // "bad\xff\xfe;x 1"
	]);
	const svg = flame('hostile', input, ['--title', '<b>t</b> & "x"', '--subtitle', ']]><script>']);
	const { page, errors } = await open(svg);
	const drawn = (await frames(page)).map((x) => x.name);
	for (const n of names) assert.ok(drawn.includes(n), `${JSON.stringify(n)} drawn as text`);
	assert.ok(drawn.includes('bad\ufffd\ufffd'), 'invalid UTF-8 became U+FFFD');
	assert.equal(await page.evaluate(() => document.getElementsByTagName('script').length), 2);
	assert.equal(await page.evaluate(() => document.getElementsByTagName('img').length), 0);
	assert.equal(await page.locator('#cs-title').textContent(), '<b>t</b> & "x"');
	assert.equal(await page.locator('#cs-subtitle').textContent(), ']]><script>');
	assert.deepEqual(errors, []); // no alert() ran, no script error
	await page.close();
});

test('narrow siblings merge into one frame that holds their time', { skip }, async () => {
	let input = 'main;big 9000\n';
	for (let i = 0; i < 50; i++) input += `main;tiny${String(i).padStart(2, '0')} 2\n`;
	const svg = flame('narrow', input, ['--minwidth', '5']);
	const { page, errors } = await open(svg);
	let f = await frames(page);
	const merged = f.filter((x) => x.merged);
	assert.equal(merged.length, 1);
	assert.equal(merged[0].merged, 50);
	assert.equal(merged[0].samples, 100);
	assert.equal(f.filter((x) => x.name.startsWith('tiny')).length, 0);
	// zooming into main makes them no wider than 5 px: still merged; search finds them
	await page.evaluate(() => window.csFlame.search('tiny'));
	assert.equal(await page.locator('#cs-matched').textContent(), 'Matched: 1.10%');
	// clicking the merged frame zooms into its parent
	await clickFrame(page, '50 frames');
	assert.equal(await page.evaluate(() => window.csFlame.zoomed),
		await page.evaluate(() => window.csFlame.find('main')));
	assert.deepEqual(errors, []);
	await page.close();
});

test('inverted icicle puts the root on top; 20,000 stacks stay small and quick', { skip }, async () => {
	// a deterministic synthetic profile: 20,000 unique stacks 10-60 frames deep
	let seed = 7;
	const rnd = (n) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
	const lines = new Set();
	while (lines.size < 20000) {
		const depth = 10 + rnd(51);
		const st = [];
		let node = 1;
		for (let d = 0; d < depth; d++) {
			node = node * (d < 4 ? 2 : d < 12 ? 4 : 12) + rnd(d < 4 ? 2 : d < 12 ? 4 : 12);
			st.push(`ns::function_${node % 6000}`);
		}
		lines.add(st.join(';'));
	}
	const input = [...lines].map((l, i) => `${l} ${1 + (i % 97)}\n`).join('');
	const svg = flame('big', input, ['--inverted']);
	const size = statSync(svg).size;
	console.log(`# 20,000 stacks: SVG ${size} bytes`);
	assert.ok(size <= 2 * 1024 * 1024, `SVG of 20,000 stacks is ${size} bytes`);
	const { page, errors } = await open(svg);
	const ms = await page.evaluate(() => window.csFlame.firstPaintMs);
	const drawn = await page.evaluate(() => window.csFlame.drawn);
	console.log(`# 20,000 stacks: first paint ${ms.toFixed(0)} ms, ${drawn} frames drawn`);
	assert.ok(ms < 5000, `first paint took ${ms} ms`);
	const f = await frames(page);
	const root = f.find((x) => x.name === 'all');
	const deepest = Math.max(...f.map((x) => x.depth));
	const ys = await page.evaluate(() => {
		const out = {};
		for (const r of document.querySelectorAll('#cs-frames rect')) out[r.getAttribute('y')] = 1;
		return Object.keys(out).map(Number).sort((a, b) => a - b);
	});
	const rootY = await page.evaluate(() => +document.querySelector('#cs-frames rect').getAttribute('y'));
	assert.equal(rootY, ys[0], 'the root is the topmost row');
	assert.ok(root && deepest > 10);
	assert.deepEqual(errors, []);
	await page.close();
});

// One drawing at a time: every rect in #cs-frames was made by the script, and no frame
// appears twice (ancestors drawn above a zoomed frame apart).
async function oneDrawing(page) {
	const r = await page.evaluate(() => {
		const groups = document.querySelectorAll('#cs-frames').length;
		const rects = [...document.querySelectorAll('#cs-frames rect')];
		const seen = new Set();
		let twice = 0;
		for (const e of rects) {
			if (e.getAttribute('class') === 'cs-anc') continue;
			const key = e.csMerged ? 'm' + e.csMerged.parent + ':' + e.csMerged.depth : 'n' + e.csNode;
			if (seen.has(key)) twice++;
			seen.add(key);
		}
		return {
			groups, twice, rects: rects.length,
			scripted: rects.filter((e) => e.csNode !== undefined).length,
			titles: document.querySelectorAll('#cs-frames title').length,
		};
	});
	assert.equal(r.groups, 1, 'one #cs-frames');
	assert.equal(r.scripted, r.rects, 'every frame drawn by the script: the static ones are gone');
	assert.equal(r.titles, 0, 'no static <title> left');
	assert.equal(r.twice, 0, 'no frame drawn twice');
	return r.rects;
}

test('the script replaces the static drawing with the same frames and colours', { skip }, async () => {
	// names beyond ASCII and beyond the BMP: the colour hash runs over UTF-16 units
	const input = 'main;a;x 60\nmain;a;y 20\nmain;b 20\nmain;日本語 30\nmain;fire🔥;é 25\n';
	const svg = flame('static', input, ['--width', '1300']);
	const stat = staticFrames(svg);
	assert.ok(stat.length >= 8, `the file draws ${stat.length} frames statically`);
	const { page, errors } = await open(svg);
	assert.equal(await page.evaluate(() => window.csFlame.width), 1300, 'the window is 1300 px wide');
	const drawn = await page.evaluate(() => [...document.querySelectorAll('#cs-frames rect')].map((r) => ({
		name: r.csMerged ? null : window.csFlame.frames().find((f) => f.node === r.csNode).name,
		x: +r.getAttribute('x'), width: +r.getAttribute('width'), fill: r.getAttribute('fill'),
	})));
	const n = await oneDrawing(page);
	assert.equal(n, stat.length, 'as many frames as the static drawing');
	for (const s of stat) {
		const d = drawn.find((x) => x.name === s.name);
		assert.ok(d, `${s.name} is drawn by the script`);
		assert.equal(d.fill, s.fill, `${s.name}: the same colour with and without the script`);
		assert.ok(Math.abs(d.x - s.x) < 0.01 && Math.abs(d.width - s.width) < 0.01,
			`${s.name}: the same place`);
	}
	// zoom, search, reset: still one drawing, no frame twice
	await clickFrame(page, 'a');
	await oneDrawing(page);
	await page.evaluate(() => window.csFlame.search('^[xy]$'));
	await oneDrawing(page);
	await page.evaluate(() => window.csFlame.reset());
	assert.equal(await oneDrawing(page), n);
	assert.deepEqual(errors, []);
	await page.close();
});

test('the graph fills the width of the window and follows it', { skip }, async () => {
	const svg = flame('width', 'main;a 75\nmain;b 25\n', ['--title', 'wide']);
	const { page, errors } = await open(svg);
	const vw = await page.evaluate(() => document.documentElement.getBoundingClientRect().width);
	assert.ok(Math.abs(vw - 1300) < 20, `the SVG spans the window (${vw} px)`);
	assert.equal(await page.evaluate(() => window.csFlame.width), Math.floor(vw));
	await page.setViewportSize({ width: 1700, height: 900 });
	await page.waitForFunction(() => window.csFlame.width >= 1690);
	const w = await page.evaluate(() => window.csFlame.width);
	const f = await frames(page);
	assert.ok(Math.abs(byName(f, 'all')[0].width - (w - 20)) < 0.01, 'the root spans the new width');
	assert.ok(Math.abs(byName(f, 'a')[0].width - (w - 20) * 0.75) < 0.01);
	assert.equal(+(await page.locator('#cs-title').getAttribute('x')), w / 2, 'the title stays centred');
	const box = await page.locator('#cs-search').boundingBox();
	assert.ok(box.x + box.width > w - 30, 'Search stays at the right edge');
	await oneDrawing(page);
	assert.deepEqual(errors, []);
	await page.close();
});

test('in an <img> (no script) the static drawing shows the frames', { skip }, async () => {
	const svg = flame('img', 'main;a;x 60\nmain;a;y 20\nmain;b 20\n');
	const html = join(work, 'img.html');
	writeFileSync(html, `<!DOCTYPE html><html><body style="margin:0;background:#fff">` +
		`<img id="g" src="img.svg"></body></html>`);
	const page = await context.newPage();
	await page.goto('file://' + html);
	await page.waitForFunction(() => document.getElementById('g').complete);
	const box = await page.locator('#g').boundingBox();
	assert.ok(Math.abs(box.width - 1200) < 1, `the image has its static size (${box.width} px)`);
	const at = decodePng(await page.screenshot({ clip: { x: 0, y: 0, width: 1200, height: Math.floor(box.height) } }));
	const fills = Object.fromEntries(staticFrames(svg).map((s) => [s.name, s.fill]));
	const h = box.height, row = (d) => Math.round(h - 34 - (d + 1) * 16 + 7.5);
	assert.equal(at(600, row(0)), fills.all, 'the root');
	assert.equal(at(482, row(2)), fills.a, 'a, 80% wide');
	assert.equal(at(364, row(3)), fills.x, 'x above a');
	// colours within tol per channel (a gradient may be dithered)
	const near = (p, q, tol) => [1, 3, 5].every((i) =>
		Math.abs(parseInt(p.slice(i, i + 2), 16) - parseInt(q.slice(i, i + 2), 16)) <= tol);
	assert.ok(near(at(1072, row(3)), at(3, row(3)), 2), 'nothing above b: background');
	assert.ok(!near(at(600, row(0)), at(3, row(0)), 8), 'a frame is not the background');
	await page.close();
});

test('a call chain deeper than --max-frames is cut, and says so', { skip }, async () => {
	const chain = Array.from({ length: 17 }, (_, i) => 'f' + i).join(';');
	const svg = flame('cut', chain + ' 5\n', ['--max-frames', '16']);
	const { page, errors } = await open(svg);
	const f = await frames(page);
	const cut = f.filter((x) => x.cut);
	assert.equal(cut.length, 1);
	assert.equal(cut[0].depth, 15);
	assert.equal(cut[0].samples, 5);
	assert.equal(byName(f, 'f13').length, 1);
	assert.equal(byName(f, 'f14').length, 0);
	const b = await page.evaluate(() => {
		const r = [...document.querySelectorAll('#cs-frames rect')].find((e) => e.csMerged && e.csMerged.cut);
		const x = r.getBoundingClientRect();
		return { x: x.x + x.width / 2, y: x.y + x.height / 2 };
	});
	await page.mouse.move(b.x, b.y);
	await page.waitForSelector('#cs-tip:not(.cs-hide)');
	const tip = await page.locator('#cs-tip text').textContent();
	assert.ok(tip.includes('call chains cut at depth 14 to fit --max-frames 16'), tip);
	assert.match(await page.locator('#cs-note').textContent(), /cut after 14 frames/);
	// zooming into the last frame kept shows the cut frame under it, once
	await clickFrame(page, 'f13');
	await oneDrawing(page);
	assert.equal((await frames(page)).filter((x) => x.cut).length, 1);
	assert.deepEqual(errors, []);
	await page.close();
});

// csampler diff -o: the same script over a differential graph. Colours come from the
// table (red grew, blue shrank, grey unchanged, hatched: only in BASE), tooltips carry
// BASE, NEW and the change; clicking and searching work as in any flame graph.
test('differential graph: colours, BASE-only frames, tooltips, zoom and search', { skip }, async () => {
	const a = join(work, 'diff-a.folded'), b = join(work, 'diff-b.folded');
	writeFileSync(a, 'main;work;grow 10000\nmain;work;steady 5000\nmain;old 1200\nmain;<b>&x 800\n');
	writeFileSync(b, 'main;work;grow 15000\nmain;work;steady 5050\nmain;added 2500\nmain;<b>&x 780\n');
	const svg = join(work, 'diff.svg');
	execFileSync(CSAMPLER, ['diff', '-o', svg, a, b], { timeout: 60000 });
	const { page, errors } = await open(svg);
	let f = await frames(page);
	const fillOf = (name) => page.evaluate((n) => {
		const list = window.csFlame.frames();
		const k = list.findIndex((x) => x.name === n && !x.ancestor);
		return k < 0 ? null : document.querySelectorAll('#cs-frames rect')[k].getAttribute('fill');
	}, name);
	const red = await fillOf('grow'), grey = await fillOf('steady'), gone = await fillOf('old');
	assert.match(red, /^#ee[0-9a-f]{4}$/, 'grow is red');
	assert.equal(grey, '#cfcfcf', 'steady is grey');
	assert.equal(gone, 'url(#cs-gone)', 'old, only in BASE, is hatched');
	assert.equal(await fillOf('<b>&x'), '#cfcfcf', 'the name is text, not markup');
	// widths: NEW's time plus BASE's vanished time (old)
	const all = byName(f, 'all')[0].samples;
	assert.equal(all, (15000 + 5050 + 2500 + 780 + 1200) * 1000);
	assert.equal(byName(f, 'old')[0].samples, 1200 * 1000);

	// the tooltip of grow says BASE, NEW and the change
	const box = await page.evaluate(() => {
		const list = window.csFlame.frames();
		const k = list.findIndex((x) => x.name === 'grow' && !x.ancestor);
		const r = document.querySelectorAll('#cs-frames rect')[k].getBoundingClientRect();
		return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
	});
	await page.mouse.move(box.x, box.y);
	const tip = await page.locator('#cs-tip text').textContent();
	assert.ok(tip.includes('BASE 10000.0 samples, NEW 15000.0 samples: +5000.0 samples'), tip);
	assert.ok(tip.includes('significant'), tip);

	await clickFrame(page, 'work');
	f = await frames(page);
	assert.equal(byName(f, 'old').length, 0, 'zoomed into work');
	assert.equal(await fillOf('grow'), red, 'colours stay on zoom');
	await page.evaluate(() => window.csFlame.search('^grow$'));
	assert.equal((await frames(page)).filter((x) => x.matched).map((x) => x.name).join(), 'grow');
	assert.deepEqual(errors, []);
	await page.close();
});
