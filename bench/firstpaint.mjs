// firstpaint.mjs - open csampler flame SVGs in headless Chromium and print, per file,
// the time from navigation to the first drawn frame, what the script itself took,
// how many frames it drew, and how long one zoom (redraw) takes.
// usage: node bench/firstpaint.mjs FILE.svg... (uses tests/browser/node_modules)
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../tests/browser/package.json'));
const { chromium } = require('playwright-core');
const dir = mkdtempSync(join(tmpdir(), 'cs-paint-'));
const ctx = await chromium.launchPersistentContext(dir, {
	executablePath: '/usr/bin/chromium',
	headless: true,
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	viewport: { width: 1300, height: 1000 },
});
for (const file of process.argv.slice(2)) {
	const page = await ctx.newPage();
	const t0 = Date.now();
	await page.goto('file://' + resolve(file));
	await page.waitForFunction(() => window.csFlame !== undefined, null, { timeout: 60000 });
	// wait for the frame after the first draw to be painted
	await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
	const paint = Date.now() - t0;
	const r = await page.evaluate(() => {
		const f = window.csFlame;
		const t = performance.now();
		// zoom into the widest child of the root and back
		const list = f.frames().filter((x) => x.depth === 1 && !x.merged);
		list.sort((a, b) => b.width - a.width);
		if (list.length) f.zoom(list[0].node);
		const zoomMs = performance.now() - t;
		f.zoom(0);
		return { script: f.firstPaintMs, drawn: f.drawn, zoomMs };
	});
	console.log(`${file}: first paint ${paint} ms (script ${r.script.toFixed(0)} ms), ` +
		`${r.drawn} frames drawn, zoom redraw ${r.zoomMs.toFixed(0)} ms`);
	await page.close();
}
await ctx.close();
rmSync(dir, { recursive: true, force: true });
