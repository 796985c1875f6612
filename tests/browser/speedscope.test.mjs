// speedscope.test.mjs - open `csampler export --format speedscope` in speedscope's offline
// build (the npm package's dist/release/index.html) in headless Chromium, loaded the way
// speedscope's own command line loads a file, and check that it shows the profile: the
// threads as profiles, the functions with report's self times in the sandwich table.
// Skips, saying why, when /usr/bin/chromium or node_modules is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const CSAMPLER = process.env.CSAMPLER || join(here, '../../build/cli/csampler');
const SPEEDSCOPE = join(here, 'node_modules/speedscope/dist/release/index.html');
const GOLDEN = join(here, '../golden');
let skip = false;
if (!existsSync(CHROMIUM)) skip = `${CHROMIUM} is not installed (apt-get install chromium)`;
else if (!existsSync(join(here, 'node_modules/playwright-core')) || !existsSync(SPEEDSCOPE))
	skip = `node_modules is missing (run 'npm ci' in ${here})`;
else if (!existsSync(CSAMPLER)) skip = `no csampler binary at ${CSAMPLER} (set CSAMPLER)`;
if (skip) console.log(`# SKIP speedscope tests: ${skip}`);

const work = mkdtempSync(join(tmpdir(), 'cs-speedscope-'));
let context;

before(async () => {
	if (skip) return;
	const { chromium } = await import('playwright-core');
	context = await chromium.launchPersistentContext(join(work, 'profile'), {
		executablePath: CHROMIUM,
		headless: true,
		args: ['--headless', '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
			'--no-first-run', '--disable-background-networking', '--disable-component-update',
			'--allow-file-access-from-files'],
		viewport: { width: 1300, height: 900 },
	});
});

after(async () => {
	if (context) await context.close();
	rmSync(work, { recursive: true, force: true });
});

// Export input as speedscope JSON and open it in speedscope; returns the page and the JSON.
async function open(name, input) {
	const out = join(work, name + '.speedscope.json');
	execFileSync(CSAMPLER, ['export', '-f', 'speedscope', '-i', input, '-o', out], { timeout: 60000 });
	const data = readFileSync(out);
	const js = join(work, name + '.js');
	writeFileSync(js, `speedscope.loadFileFromBase64(${JSON.stringify(name + '.json')}, ` +
		`${JSON.stringify(data.toString('base64'))})`);
	const page = await context.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(String(e)));
	await page.goto(pathToFileURL(SPEEDSCOPE).href + '#localProfilePath=' + js);
	// the title becomes "NAME - speedscope" once the profile is imported
	await page.waitForFunction(() => / - speedscope$/.test(document.title), null, { timeout: 30000 });
	return { page, errors, json: JSON.parse(data) };
}

test('speedscope opens a perf script export: one profile, functions and self times as report', { skip }, async () => {
	const input = join(GOLDEN, 'perf-dwarf.txt');
	const { page, errors } = await open('perf-dwarf', input);
	// the sandwich view lists every function with its self time
	await page.keyboard.press('3');
	const report = execFileSync(CSAMPLER, ['report', '-i', input, '--format', 'csv', '--top', '0']).toString();
	const rows = report.trim().split('\n').slice(1).map((l) => l.split(','));
	const names = rows.filter((r) => !r[0].startsWith('[')).slice(0, 5).map((r) => r[0]);
	// the table fills in once laid out
	await page.waitForFunction((ns) => ns.every((n) => document.body.innerText.includes(n)), names,
		{ timeout: 20000 }).catch(() => {});
	const text = await page.evaluate(() => document.body.innerText);
	for (const n of names) assert.ok(text.includes(n), `speedscope shows ${n}`);
	assert.match(text, /burn/);
	assert.match(text, /80(\.0+)?%/, "burn's self share as report's 80%");
	assert.deepEqual(errors, []);
	await page.close();
});

test('speedscope shows one profile per thread', { skip }, async () => {
	const input = join(GOLDEN, 'perf-basic.txt');
	const threads = execFileSync(CSAMPLER, ['report', '-i', input, '--by', 'thread', '--format', 'csv', '--top', '0'])
		.toString().trim().split('\n').length - 1;
	const { page, errors, json } = await open('perf-basic', input);
	assert.equal(json.profiles.length, threads);
	const text = await page.evaluate(() => document.body.innerText);
	assert.match(text, new RegExp(`\\(1/${threads}\\)`), `the profile selector offers ${threads} threads`);
	assert.deepEqual(errors, []);
	await page.close();
});
