// flame.test.mjs - open SVGs made by `csampler flame` in headless Chromium and use them
// as a person would: click a frame, search, reset, hover. Run by ctest (test_browser)
// with CSAMPLER set to the binary; skips, saying why, only when /usr/bin/chromium or
// node_modules is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
	execFileSync(CSAMPLER, ['flame', '-i', inp, ...opts, out]);
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

const INNER = 1200 - 20; // default width less the side margins

test('click zooms into a frame, reset restores the view', { skip }, async () => {
	const svg = flame('zoom', 'main;a;x 60\nmain;a;y 20\nmain;b 20\n');
	const { page, errors } = await open(svg);
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
