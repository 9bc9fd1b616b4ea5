// Drives Debian's Chromium (playwright-core) through errata's error
// reference, served by a running errata server, as a person would use it.
// Usage: node errors-page.mjs http://127.0.0.1:PORT SCREENSHOT_DIR
// The browser is $ERRATA_CHROMIUM, else /usr/bin/chromium.
// Prints one line per check and a closing "N passed, N failed" line; exits 1
// if any check fails.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error('usage: node errors-page.mjs BASE_URL SCREENSHOT_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const origin = new URL(base).origin;
// A browser that hangs must not hang the test suite.
setTimeout(() => {
  console.error('errors-page: timed out');
  process.exit(1);
}, 180_000).unref();

let passed = 0;
let failed = 0;
async function check(name, body) {
  try {
    await body();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${e && e.stack ? e.stack : e}`);
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.ERRATA_CHROMIUM || '/usr/bin/chromium',
});

// Everything any page of a context asks for, and everything that went wrong
// in it: requests to another origin, failed requests, console errors (CSP
// violations are reported there), uncaught exceptions.
function watch(context) {
  const seen = { requests: [], foreign: [], problems: [] };
  context.on('request', (r) => {
    seen.requests.push(r.url());
    if (new URL(r.url()).origin !== origin) seen.foreign.push(r.url());
  });
  context.on('requestfailed', (r) => seen.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  context.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') seen.problems.push(`console ${m.type()}: ${m.text()}`);
  });
  context.on('weberror', (e) => seen.problems.push(`uncaught: ${e.error()}`));
  return seen;
}

// The watch must see what it is there to catch: a request to another host.
{
  const canary = await browser.newContext();
  const caught = watch(canary);
  const p = await canary.newPage();
  await p.setContent('<img src="http://127.0.0.2:9/canary.png">');
  await check('the watch catches a request to another host', async () => {
    assert(caught.foreign.some((u) => u.includes('canary')), `foreign: ${caught.foreign.join(', ')}`);
  });
  await canary.close();
}

const catalog = await (await fetch(`${base}/errors.json`)).json();
const total = catalog.errors.length;

// The entries the page shows, by their row id, in page order.
async function visibleRows(page) {
  return page.$$eval('tr[data-search]', (rows) =>
    rows.filter((r) => r.getClientRects().length > 0).map((r) => r.id));
}

// Whether the entry `id` is on screen, below the sticky header, and is what a
// person sees at its centre (not covered by anything).
async function inView(page, id) {
  return page.evaluate((id) => {
    const row = document.getElementById(id);
    if (!row) return `no element #${id}`;
    const r = row.getBoundingClientRect();
    const header = document.querySelector('header').getBoundingClientRect();
    if (r.height === 0) return `#${id} is not displayed`;
    if (r.top < header.bottom - 1) return `#${id} is under the header (row top ${r.top}, header bottom ${header.bottom})`;
    if (r.bottom > window.innerHeight) return `#${id} is below the fold (row bottom ${r.bottom}, height ${window.innerHeight})`;
    if (r.left < 0 || r.right > window.innerWidth) return `#${id} is cut at the sides (${r.left} to ${r.right} of ${window.innerWidth})`;
    const wide = document.documentElement.scrollWidth;
    if (wide > window.innerWidth) return `the page is ${wide}px wide in a window of ${window.innerWidth}px`;
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(r.height / 2, 10));
    if (!hit || !row.contains(hit)) return `#${id} is covered by ${hit && hit.outerHTML.slice(0, 80)}`;
    return 'yes';
  }, id);
}

const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const seen = watch(context);
const page = await context.newPage();
const response = await page.goto(`${base}/errors`);
const headers = response.headers();

await check('the page is served as HTML with a Content-Security-Policy that allows nothing from elsewhere', async () => {
  assert(response.status() === 200, `status ${response.status()}`);
  assert(headers['content-type'] === 'text/html; charset=utf-8', `content-type ${headers['content-type']}`);
  const csp = headers['content-security-policy'];
  assert(csp, 'no Content-Security-Policy header');
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert(directives['default-src']?.join(' ') === "'none'", `default-src: ${directives['default-src']}`);
  for (const name of ['script-src', 'style-src']) {
    const sources = directives[name] || [];
    assert(sources.length > 0 && sources.every((s) => /^'sha256-[A-Za-z0-9+/]+=*'$/.test(s)),
      `${name} allows more than digests: ${sources.join(' ')}`);
  }
  assert(directives['frame-ancestors']?.join(' ') === "'none'", 'the page can be framed');
});

await check('the script runs under that policy: the search box is shown and counts every entry', async () => {
  assert(await page.locator('#q').isVisible(), 'the search box is hidden');
  const count = await page.locator('#count').textContent();
  assert(count === `${total} of ${total} errors`, `count says "${count}"`);
  const rows = await visibleRows(page);
  assert(rows.length === total, `${rows.length} rows shown of ${total}`);
});

await check('the top of the page is what a person sees first: the title and the search box', async () => {
  const y = await page.evaluate(() => window.scrollY);
  assert(y === 0, `the page opened scrolled to ${y}`);
  assert(await page.locator('h1').isVisible(), 'no title');
  assert(await page.evaluate(() => document.activeElement.id) === 'q', 'the search box has no focus');
});

async function search(query) {
  await page.fill('#q', query);
  const rows = await visibleRows(page);
  const count = await page.locator('#count').textContent();
  assert(count === `${rows.length} of ${total} errors`, `count says "${count}" for ${rows.length} rows`);
  return rows;
}

// The rows a query keeps are those whose text holds every word of it, and
// the sections left with no row are hidden with their headings.
async function filtersTo(query, wanted) {
  const rows = await search(query);
  assert(rows.includes(wanted), `"${query}" hides ${wanted}; shows ${rows.slice(0, 10).join(', ')}`);
  assert(rows.length < total, `"${query}" filters nothing`);
  const words = query.toLowerCase().split(/\s+/);
  const misses = await page.$$eval('tr[data-search]', (all, words) => all
    .filter((r) => (r.getClientRects().length > 0) !== words.every((w) => r.textContent.toLowerCase().includes(w)))
    .map((r) => r.id), words);
  assert(misses.length === 0, `"${query}": shown without the words, or hidden with them: ${misses.slice(0, 10).join(', ')}`);
  const headings = await page.$$eval('main section', (sections) => sections
    .filter((s) => s.querySelector('tr[data-search]') && s.getClientRects().length > 0
      && ![...s.querySelectorAll('tr[data-search]')].some((r) => r.getClientRects().length > 0))
    .map((s) => s.querySelector('h2, h3').textContent));
  assert(headings.length === 0, `"${query}" leaves empty sections shown: ${headings.join(', ')}`);
  return rows;
}

const pageNotFound = catalog.errors.find((e) => e.code === 6003);
await check('searching by code filters the list', async () => {
  assert(pageNotFound, 'the catalog has no 6003');
  await filtersTo('6003', '6003');
});
await check('searching by slug filters the list', async () => {
  await filtersTo(pageNotFound.slug, '6003');
});
await check('searching by id filters the list', async () => {
  await filtersTo(pageNotFound.id, '6003');
});
await check('searching by words of a message and a description filters the list, in any order', async () => {
  await filtersTo('security code two-factor', '1005');
  await filtersTo('TOTP incorrect', '1005');
});
await check('a search that matches nothing says so and hides every section', async () => {
  const rows = await search('no-error-has-this-word');
  assert(rows.length === 0, `shows ${rows.join(', ')}`);
  const shown = await page.$$eval('main section', (s) => s.filter((x) => x.querySelector('tr[data-search]') && x.getClientRects().length > 0).length);
  assert(shown === 0, `${shown} sections still shown`);
});
// Messages are shown as clients receive them, backticks included; the
// descriptions' Markdown is rendered, so its markup is not searched.
await check('searching for Markdown markup finds nothing: the page shows none', async () => {
  const rows = await search('**');
  assert(rows.length === 0, `"**" keeps ${rows.join(', ')}`);
});
await page.fill('#q', 'login');
await page.screenshot({ path: join(shots, 'errors-search.png') });
await check('clearing the search shows every entry again', async () => {
  const rows = await search('');
  assert(rows.length === total, `${rows.length} of ${total}`);
});

await check('domain descriptions are rendered Markdown', async () => {
  const auth = page.locator('section', { has: page.locator('h2', { hasText: 'Authentication / Users' }) }).first();
  const strong = await auth.locator(':scope > .about strong').first().textContent();
  assert(strong === '1xxx', `the 1xxx range is not bold: ${strong}`);
  const marks = await page.$$eval('.about, .desc', (all) => all
    .filter((e) => /\*\*|`/.test(e.textContent)).map((e) => e.textContent.trim().slice(0, 80)));
  assert(marks.length === 0, `Markdown shown as text: ${marks.slice(0, 5).join(' | ')}`);
  const codes = await page.locator('.about code, .desc code').count();
  assert(codes > 0, 'no `code` span was rendered');
});
await page.screenshot({ path: join(shots, 'errors.png') });

for (const [name, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
  await check(`/errors#6003 opens on that entry, below the header (${name})`, async () => {
    const p = await context.newPage();
    await p.setViewportSize(viewport);
    await p.goto(`${base}/errors#6003`);
    const y = await p.evaluate(() => window.scrollY);
    assert(y > 0, 'the page did not scroll');
    const where = await inView(p, '6003');
    assert(where === 'yes', where);
    assert(await p.locator('tr[id="6003"].anchored').count() === 1, 'the entry is not highlighted');
    await p.screenshot({ path: join(shots, `errors-6003-${name}.png`) });
    await p.close();
  });
}
await check('an entry\'s id is an anchor too, and following a link to a hidden entry shows it', async () => {
  const p = await context.newPage();
  await p.goto(`${base}/errors`);
  await p.fill('#q', '1005');
  await p.evaluate((id) => { location.hash = id; }, pageNotFound.id);
  await p.waitForFunction(() => document.querySelector('tr.anchored'));
  const where = await inView(p, '6003');
  assert(where === 'yes', where);
  assert(await p.inputValue('#q') === '', 'the search that hid the entry is still applied');
  await p.close();
});

await check('searching from far down the page shows the results from the top', async () => {
  const p = await context.newPage();
  await p.goto(`${base}/errors#6003`);
  await p.fill('#q', 'the');
  const [first] = await visibleRows(p);
  const where = await inView(p, first);
  assert(where === 'yes', where);
  await p.close();
});

await check('the page asked nothing of any other host, and nothing went wrong', async () => {
  assert(seen.requests.length > 0, 'no request was seen');
  assert(seen.foreign.length === 0, `requests elsewhere: ${seen.foreign.join(', ')}`);
  assert(seen.problems.length === 0, seen.problems.join('\n'));
});
await context.close();

const noScript = await browser.newContext({ viewport: { width: 1280, height: 800 }, javaScriptEnabled: false });
const quiet = watch(noScript);
const plain = await noScript.newPage();
await plain.goto(`${base}/errors`);
await check('without JavaScript every entry is shown, and no search box that does nothing', async () => {
  const rows = await visibleRows(plain);
  assert(rows.length === total, `${rows.length} rows shown of ${total}`);
  assert(!(await plain.locator('#q').isVisible()), 'a search box that cannot work is shown');
});
await plain.screenshot({ path: join(shots, 'errors-no-javascript.png') });
await check('without JavaScript /errors#6003 opens on that entry, below the header', async () => {
  await plain.goto(`${base}/errors#6003`);
  const where = await inView(plain, '6003');
  assert(where === 'yes', where);
});
await check('without JavaScript the page asked nothing of any other host either', async () => {
  assert(quiet.foreign.length === 0, `requests elsewhere: ${quiet.foreign.join(', ')}`);
  assert(quiet.problems.length === 0, quiet.problems.join('\n'));
});
await noScript.close();
await browser.close();

console.log(`screenshots: ${shots}`);
console.log(`errors page: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
