// The end-to-end test: the built site (dist/) in real headless Chromium. It opens the
// fork-after-merge scenario, steps to the fork and reads the ENOMEM explanation, steps back, edits
// the scenario to add `noreserve` and sees the fork succeed, reloads through the share URL and gets
// the same state, checks that a damaged link shows a message and the library, and saves a
// screenshot under target/e2e/.
//
// Then (issue 8): own work survives a library click, a reload, an import (a binary file is
// refused) and a share link; delete asks first and can be undone; the old single-slot storage is
// migrated; a run that stops early says so; editing keeps the step; the keyboard rules hold; and
// screenshots at 1440×900 and 1280×720 of those states; and the one screen: the views follow the
// acting process in the VMA gallery, at 1280×720 and at 150 % zoom the code, the explanation,
// every process and the counters fit without scrolling, the explanation box keeps its size, the
// smallest text is 14 px, and the physical strip shows a COW frame shared and split.
//
// And (issue 8, second slice): a loading state until the wasm is ready; library titles from the
// header line with identifiers in code style; flag codes explained; no green "→ ok" in the red
// stopped box; a shared scenario named without its file-name prefix; compare side by side, with
// the other run's error, kept in the URL across a reload; zoom into a 4 GiB VMA down to single
// pages with the arrow keys on the cells; and simulated-vision screenshots of the page view.
//
// And (issue 9, web): memcg-victim-choice stepped to its kill — the explanation box links to the
// OOM killer's table, which shows the core's constraint, totalpages and points with the kernel's
// victim highlighted, and the cgroup tree's numbers equal the CLI's `vmlab show`; the
// memory.current chart at 1× and 2×; kube-node-pressure's pods with their QoS classes; page-cache
// and swapped pages in the page view; screenshots for people under target/look/.
//
// And (issue 10, web): a Windows machine's page states, commit meter (the CLI's numbers), page-file
// growth and job panel, and the Linux/Windows compare of the same workload.
'use strict';
const fs = require('fs');
const path = require('path');
const { ROOT, serveDist, launch, ready } = require('./common.cjs');

let passed = 0, failed = 0;
function check(cond, what, detail = '') {
  if (cond) { passed++; console.log(`ok   ${what}`); }
  else { failed++; console.log(`FAIL ${what}${detail ? `: ${detail}` : ''}`); }
}

async function stepNo(page) {
  return Number(await page.getAttribute('#stepno', 'data-step'));
}
async function currentStep(page) {
  const el = await page.$('.step.current');
  return el ? (await el.innerText()) : '';
}
// Presses → until the current step is a fork that failed with ENOMEM (at most `max` presses).
async function stepToFork(page, max = 80) {
  for (let i = 0; i < max; i++) {
    const head = (await currentStep(page)).split('\n')[0];
    if (/ fork /.test(head) && /ENOMEM/.test(head)) return true;
    const before = await stepNo(page);
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((b) => Number(document.querySelector('#stepno').dataset.step) !== b, before, { timeout: 5000 }).catch(() => {});
    if ((await stepNo(page)) === before) return false;
  }
  return false;
}

// Reads the own-scenario document (crates/web/src/store.rs): `vmlab-store N`, then tab-separated
// records with \\ \n \t \r escaped.
function parseStore(doc) {
  const lines = (doc || '').split('\n');
  const m = /^vmlab-store (\d+)$/.exec(lines[0]);
  if (!m) return { own: [] };
  const un = (f) => f.replace(/\\(.)/g, (_, c) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c]);
  const s = { version: Number(m[1]), own: [] };
  for (const l of lines.slice(1)) {
    if (!l) continue;
    const f = l.split('\t').map(un);
    if (f[0] === 'own') s.own.push({ name: f[1], text: f[2] });
    else if (f[0] === 'current') s.current = f[1];
  }
  return s;
}

// A new document load (a URL that differs only in its fragment would not reload the app).
// Screenshots of the page at 1440×900 and 1280×720 (target/e2e/NAME-WxH.png), back to 1440×900.
async function shots(page, dir, name) {
  for (const [w, h] of [[1440, 900], [1280, 720]]) {
    await page.setViewportSize({ width: w, height: h });
    await page.screenshot({ path: path.join(dir, `${name}-${w}x${h}.png`) });
  }
  await page.setViewportSize({ width: 1440, height: 900 });
}

async function fresh(page, url) {
  await page.goto('about:blank');
  await page.goto(url);
  await ready(page);
}

// Machado et al. 2009 (severity 1) in linear RGB, as render/palette.rs tests them: an SVG filter
// works in linearRGB by default, so this is the same simulation applied to the page's pixels.
const CVD = {
  protanopia: [0.152286, 1.052583, -0.204868, 0.114503, 0.786281, 0.099216, -0.003882, -0.048116, 1.051998],
  deuteranopia: [0.367322, 0.860646, -0.227968, 0.280085, 0.672501, 0.047413, -0.011820, 0.042940, 0.968881],
  tritanopia: [1.255528, -0.076749, -0.178779, -0.078411, 0.930809, 0.147602, 0.004733, 0.691367, 0.303900],
};
async function simulateVision(page, name) {
  await page.evaluate(([name, m]) => {
    document.getElementById('cvd-sim')?.remove();
    document.documentElement.style.filter = '';
    if (!m) return;
    const v = [m.slice(0, 3), m.slice(3, 6), m.slice(6, 9)].map((r) => r.join(' ') + ' 0 0').join(' ') + ' 0 0 0 1 0';
    const div = document.createElement('div');
    div.id = 'cvd-sim';
    div.innerHTML = `<svg width="0" height="0" style="position:absolute"><filter id="cvd-filter" color-interpolation-filters="linearRGB"><feColorMatrix type="matrix" values="${v}"/></filter></svg>`;
    document.body.appendChild(div);
    document.documentElement.style.filter = 'url(#cvd-filter)';
  }, [name, CVD[name] || null]);
}

async function issue8More(browser, base, out, errors) {
  // 16. Loading: the message is in the page before the app mounts and gone once it has.
  const lctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const lp = await lctx.newPage();
  lp.on('pageerror', (e) => errors.push(String(e)));
  let release;
  const held = new Promise((r) => { release = r; });
  await lp.route('**/*.wasm', async (route) => { await held; await route.continue(); });
  await lp.goto(base, { waitUntil: 'domcontentloaded' });
  await lp.waitForSelector('#loading', { timeout: 5000 }).catch(() => {});
  const loadingText = (await lp.$('#loading')) ? await lp.innerText('#loading') : '';
  check(/Loading vmlab/.test(loadingText) && (await lp.isVisible('#loading')) && (await lp.$('.app')) === null,
    'a loading message is visible before the app mounts', loadingText);
  await lp.screenshot({ path: path.join(out, 'loading-1280x720.png') });
  release();
  await ready(lp);
  check((await lp.$('#loading')) === null && (await lp.$('.app')) !== null, 'the loading message is gone once the app is ready');

  // 17. Library titles come from the header line; identifiers are shown as written, in code style.
  const titles = await lp.$$eval('.entry-open', (els) => els.map((e) => ({ file: e.dataset.file, text: e.innerText.trim() })));
  const cow = titles.find((t) => t.file === 'cow-pss.vmlab');
  check(cow && cow.text === 'Copy-on-write and PSS, page by page', 'the cow-pss title is its header line, not "Cow pss"', cow && cow.text);
  const fromName = titles.filter((t) => { const stem = t.file.replace(/\.vmlab$/, '').replace(/[-_]/g, ' '); return t.text.toLowerCase() === stem.toLowerCase(); });
  check(titles.length > 5 && fromName.length === 0, 'no library title is made from a file name', JSON.stringify(fromName));
  await lp.$eval('.entry-open[data-file="fork-escape-noreserve.vmlab"]', (b) => b.click());
  await lp.waitForTimeout(150);
  await lp.evaluate(() => { const r = document.querySelector('.scrub'); r.value = r.max; r.dispatchEvent(new Event('input', { bubbles: true })); });
  await lp.waitForTimeout(150);
  const intro = await lp.$eval('.entry.current .intro', (e) => ({ text: e.innerText, codes: [...e.querySelectorAll('code')].map((c) => c.textContent) })).catch(() => ({ text: '', codes: [] }));
  check(/MAP_NORESERVE/.test(intro.text) && !/MAP NORESERVE|Committed AS/.test(intro.text) && intro.codes.includes('MAP_NORESERVE'),
    'an introduction keeps MAP_NORESERVE as written, in code style', JSON.stringify(intro));

  // 18. Every flag code shown on a VMA is explained in its hover text, from one table.
  const vmaTitles = await lp.$$eval('button.vma, button.gvma', (els) => els.map((e) => e.title));
  const codesOf = (t) => ((t.match(/\[([^\]]*)\]/) || [])[1] || '').split(' ').filter(Boolean);
  const unexplained = vmaTitles.flatMap((t) => codesOf(t).filter((c) => !t.includes(`${c} = VM_`)));
  check(vmaTitles.some((t) => codesOf(t).includes('nr')) && vmaTitles.some((t) => /nr = VM_NORESERVE: /.test(t)) && unexplained.length === 0,
    'every flag code on a VMA is explained in its hover text (nr = VM_NORESERVE)', JSON.stringify(unexplained) + ' ' + vmaTitles[0]);

  // 19. In the red box of a run that stopped early, the last step's "→ ok" is not green.
  const stops = 'machine linux ram=1GiB swap=0 overcommit=2\nspawn a\nexpect a running\na mmap m 900MiB rw private anon\na fork b\nexpect a running\nb write m\nexpect b running\n';
  const good = stops.replace('overcommit=2', 'overcommit=0');
  await lp.fill('#scenario', stops.replace('a fork b', 'a mmap n 1MiB rw private anon\na fork b'));
  await lp.click('body', { position: { x: 5, y: 5 } });
  for (let i = 0; i < 6; i++) await lp.keyboard.press('ArrowRight');
  await lp.waitForTimeout(150);
  const okColour = await lp.evaluate(() => {
    const o = document.querySelector('#now .now-op .outcome');
    const op = document.querySelector('#now .now-op');
    return o && { text: o.textContent, colour: getComputedStyle(o).color, ink: getComputedStyle(op).color, failed: document.querySelector('#now').classList.contains('failed') };
  });
  check(okColour && okColour.failed && /→ /.test(okColour.text) && (/ENOMEM/.test(okColour.text) || okColour.colour === okColour.ink),
    'the stopped box shows no green "→ ok"', JSON.stringify(okColour));

  // 20. A shared scenario is named by its header, without the file-name prefix.
  await lp.$eval('.entry-open[data-file="cow-pss.vmlab"]', (b) => b.click());
  await lp.waitForTimeout(150);
  const cowEdited = (await lp.inputValue('#scenario')) + '\n# a friend\'s note\n';
  const cowHash = await lp.evaluate(() => location.hash);
  await lp.fill('#scenario', cowEdited);
  await lp.waitForFunction((h) => location.hash !== h, cowHash, { timeout: 5000 }).catch(() => {});
  const cowUrl = lp.url();
  const fctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const fp = await fctx.newPage();
  fp.on('pageerror', (e) => errors.push(String(e)));
  await fp.goto(cowUrl);
  await ready(fp);
  const sharedNames = await fp.$$eval('#own .own-entry', (els) => els.map((e) => e.dataset.name));
  check(sharedNames.length === 1 && sharedNames[0] === 'Copy-on-write and PSS, page by page', 'a shared scenario is named by its header line, without "cow-pss:"', JSON.stringify(sharedNames));
  await fctx.close();

  // 21. Compare: both machines side by side at the step, the other run's error, kept in the URL.
  await lp.fill('#scenario', good);
  await lp.selectOption('.compare select', 'mode');
  await lp.waitForTimeout(150);
  await lp.click('body', { position: { x: 5, y: 5 } });
  for (let i = 0; i < 2; i++) await lp.keyboard.press('ArrowRight');
  await lp.waitForTimeout(150);
  const sides = await lp.evaluate(() => ['#cmp-left', '#cmp-right'].map((id) => { const e = document.querySelector(id); return e ? e.innerText : ''; }));
  check(sides.every((t) => /Committed_AS/.test(t) && /CommitLimit/.test(t) && /a \(\d+\)/.test(t)), 'compare shows both machines\' counters and processes side by side', JSON.stringify(sides).slice(0, 300));
  check(/mmap m/.test(sides[1]) && /ENOMEM/.test(sides[1]) && /Committed_AS|CommitLimit|overcommit/i.test(sides[1].split('→')[1] || ''),
    'compare explains the other side\'s outcome at the step (its mmap fails, and why)', sides[1].slice(0, 400));
  const cmpErr = (await lp.$('#cmp-error')) ? await lp.innerText('#cmp-error') : '';
  check(/stopped at line 7/.test(cmpErr) && (await lp.isVisible('#cmp-error')), 'compare shows the other run\'s error in an error box', cmpErr);
  check(/[#&]cmp=mode(&|$)/.test(lp.url()), 'the URL carries the compare setting', lp.url().slice(-40));
  await lp.locator('.compare').scrollIntoViewIfNeeded();
  await shots(lp, out, 'compare');
  const atStep = await stepNo(lp);
  await lp.reload();
  await ready(lp);
  check((await lp.$eval('.compare select', (e) => e.value)) === 'mode' && (await lp.$('#cmp-right')) !== null && (await stepNo(lp)) === atStep,
    'a reload keeps compare on, at the same step');
  await lp.selectOption('.compare select', '');
  await lp.waitForTimeout(100);
  check(!/cmp=/.test(lp.url()), 'turning compare off takes it out of the URL');

  // 22. Zoom into a 4 GiB VMA down to single pages; the arrow keys move between page cells.
  const big = 'machine linux ram=16GiB swap=0 overcommit=1\nspawn a\na mmap big 4GiB rw private anon\na write big[1024MiB..1025MiB]\na read big[2048MiB..2049MiB]\n';
  await lp.fill('#scenario', big);
  await lp.click('body', { position: { x: 5, y: 5 } });
  for (let i = 0; i < 4; i++) await lp.keyboard.press('ArrowRight');
  await lp.waitForTimeout(150);
  await lp.click('button.vma:has-text("big"), button.gvma:has-text("big")');
  await lp.waitForTimeout(150);
  const perCell = async () => (await lp.innerText('.pages .panel-head')).match(/(\d+) pages per cell|1 page per cell/);
  const first = await perCell();
  check(first && /pages per cell/.test(first[0]) && Number(first[1]) > 1000, 'a 4 GiB VMA starts at many pages per cell', first && first[0]);
  let clicks = 0;
  while (clicks < 6 && !/^1 page per cell/.test((await perCell() || [''])[0])) {
    await lp.click('#page-canvas', { position: { x: 20, y: 20 } });
    await lp.waitForTimeout(120);
    clicks++;
  }
  check(/^1 page per cell/.test((await perCell() || [''])[0]) && clicks <= 4, 'clicking cells zooms down to single pages', `${clicks} clicks: ${(await perCell() || [''])[0]}`);
  const stepBefore = await stepNo(lp);
  await lp.focus('#page-canvas');
  await lp.keyboard.press('ArrowRight');
  await lp.waitForTimeout(80);
  const h1 = await lp.innerText('.pages .hover');
  await lp.keyboard.press('ArrowDown');
  await lp.waitForTimeout(80);
  const h2 = await lp.innerText('.pages .hover');
  check(/: 1 page: /.test(h1) && /: 1 page: /.test(h2) && h1 !== h2, 'the arrow keys move between page cells and show the hover text on focus', `${h1} | ${h2}`);
  check((await stepNo(lp)) === stepBefore, 'the arrow keys on the page grid do not step');
  const cap1 = await lp.innerText('.pages .caption');
  await lp.keyboard.press('PageDown');
  await lp.waitForTimeout(80);
  const cap2 = await lp.innerText('.pages .caption');
  check(/showing/.test(cap1) && cap1 !== cap2, 'Page Down shows the next window of pages', `${cap1} → ${cap2}`);
  await lp.locator('.pages').scrollIntoViewIfNeeded();
  await shots(lp, out, 'zoom-single-pages');

  // 23. Every page state under simulated protanopia, deuteranopia and tritanopia.
  const states = 'machine linux ram=4GiB swap=0 overcommit=1\nspawn a\na mmap x 3MiB rw private anon\na write x[0..1MiB]\na read x[1MiB..2MiB]\na fork b\na fork c\nb write x[0..256KiB]\na mmap y 1MiB rw private anon\na write y\na madvise y free\na mmap f 1MiB r private file /srv/f\na read f\n';
  await lp.fill('#scenario', states);
  await lp.click('body', { position: { x: 5, y: 5 } });
  for (let i = 0; i < 12; i++) await lp.keyboard.press('ArrowRight');
  await lp.waitForTimeout(200);
  const legend = await lp.$$eval('.pages .legend li', (els) => els.map((e) => e.innerText.trim()));
  check(legend.length === 8 && legend.includes('page cache (file)') && legend.includes('swapped'), 'the legend names all eight page states (page cache and swapped among them)', JSON.stringify(legend));
  await lp.locator('.pages').scrollIntoViewIfNeeded();
  for (const v of ['normal', 'protanopia', 'deuteranopia', 'tritanopia']) {
    await simulateVision(lp, v);
    await (await lp.$('.pages')).screenshot({ path: path.join(out, `cvd-${v}.png`) });
  }
  await simulateVision(lp, 'normal');
  await lctx.close();
}

// The core's own numbers for the OOM checks, from the CLI (`vmlab run` and `vmlab show`), built
// from this checkout: the web app must show exactly these.
function vmlab(args) {
  const { spawnSync } = require('child_process');
  const r = spawnSync('cargo', ['run', '-q', '-p', 'vmlab-cli', '--', ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`vmlab ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}
// Every OOM of a trace, as its memcg.oom_kill / oom.kill sentence says it: the step, totalpages,
// each candidate's pid and points, the victim.
function traceOoms(trace) {
  const out = [];
  for (const l of trace.split('\n')) {
    const m = /^\s*(\d+)\s.*memcg\.oom_kill\s+memcg OOM in \/(\S+) \(totalpages (\d+) from its limit\): (.*); victim (\d+)/.exec(l);
    if (!m) continue;
    const rows = [...m[4].matchAll(/(\d+) (\S+) rss \d+ \+ swap \d+ \+ pt \d+ adj -?\d+ → (-?\d+)/g)].map((x) => ({ pid: x[1], name: x[2], points: x[3] }));
    out.push({ step: Number(m[1]), cgroup: m[2], totalpages: m[3], rows, victim: m[5] });
  }
  return out;
}
async function toStep(page, n) {
  await page.evaluate((n) => { const r = document.querySelector('.scrub'); r.value = String(n); r.dispatchEvent(new Event('input', { bubbles: true })); }, n);
  await page.waitForFunction((n) => Number(document.querySelector('#stepno').dataset.step) === n, n, { timeout: 5000 }).catch(() => {});
}
// Screenshots for people to look at (target/look/ of the worktree): the screen, then the OOM
// panel and the cgroup tree scrolled into view, at 1440×900 and 1280×720.
async function looks(page, look, name) {
  for (const [w, h] of [[1440, 900], [1280, 720]]) {
    await page.setViewportSize({ width: w, height: h });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(look, `${name}-screen-${w}x${h}.png`) });
    await page.locator('#oom').scrollIntoViewIfNeeded();
    await page.evaluate(() => document.querySelector('#oom').scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(look, `${name}-oom-${w}x${h}.png`) });
    await page.evaluate(() => document.querySelector('#cgroups').scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(look, `${name}-cgroups-${w}x${h}.png`) });
  }
  await page.setViewportSize({ width: 1440, height: 900 });
}

// Issue 9 (web): the OOM killer's table with the kernel's victim and points, the cgroup tree's
// numbers equal to the core's, the pods' QoS classes, the memory.current chart crisp at 1× and
// 2×, and page-cache and swapped pages in the page view.
async function issue9(browser, base, errors) {
  const look = path.join(ROOT, 'target', 'look');
  fs.mkdirSync(look, { recursive: true });
  const file = 'scenarios/memcg-victim-choice.vmlab';
  const ooms = traceOoms(vmlab(['run', file]));
  check(ooms.length === 2 && ooms[0].victim === '1001' && ooms[1].victim === '1000', 'the CLI trace has the two memcg OOM kills of memcg-victim-choice (b, then a)', JSON.stringify(ooms));
  if (ooms.length === 0) return;
  const kill = ooms[0].step;
  const cliNum = (f, cg) => Number(vmlab(['show', '--at', String(kill), file, f, cg]).trim());
  const usage = cliNum('memory.usage_in_bytes', '/box'), limit = cliNum('memory.limit_in_bytes', '/box');

  for (const dpr of [1, 2]) {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: dpr });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(base);
    await ready(page);
    await page.$eval('.entry-open[data-file="memcg-victim-choice.vmlab"]', (b) => b.click());
    await page.waitForFunction(() => Number(document.querySelector('#stepno').dataset.step) === 0);
    // Before the kill the panel says there is none yet and offers the steps where it runs.
    const none = (await page.$('#oom-none')) ? await page.innerText('#oom-none') : '';
    const jumps = await page.$$eval('.oom-jump', (els) => els.map((e) => e.innerText));
    check(/No OOM yet/.test(none) && jumps.join() === `step ${kill}`, `dpr ${dpr}: before the kill the OOM panel says none yet and offers step ${kill}`, `${none} ${jumps}`);
    await toStep(page, kill);
    check((await stepNo(page)) === kill, `dpr ${dpr}: at the kill step ${kill}`);
    // The explanation box links to the table.
    const link = await page.$('#now #now-oom-link');
    const summary = (await page.$('#now-oom')) ? await page.innerText('#now-oom') : '';
    check(link !== null && /killed b \(1001\), then a \(1000\)/.test(summary) && (await page.isVisible('#now-oom')),
      `dpr ${dpr}: the explanation box of the kill step says who was killed and links to the OOM table`, summary);
    if (link) await link.click();
    await page.waitForTimeout(200);
    const focused = await page.evaluate(() => { const e = document.activeElement; const r = document.querySelector('#oom').getBoundingClientRect();
      return { id: e && e.id, top: r.top, bar: document.querySelector('.top').getBoundingClientRect().bottom, vh: window.innerHeight }; });
    check(focused.id === 'oom' && focused.top >= focused.bar - 0.5 && focused.top < focused.vh / 2, `dpr ${dpr}: the link brings the OOM table into view, below the sticky top bar`, JSON.stringify(focused));
    const tables = await page.$$eval('.oom', (els) => els.map((e) => ({
      step: Number(e.dataset.step), constraint: e.dataset.constraint, totalpages: e.dataset.totalpages, victim: e.dataset.victim,
      rows: [...e.querySelectorAll('tbody tr')].map((tr) => ({ pid: tr.dataset.pid, points: tr.dataset.points, victim: tr.classList.contains('victim'),
        name: tr.children[1].innerText, bg: getComputedStyle(tr.children[0]).backgroundColor })),
    })));
    const want = ooms.filter((o) => o.step === kill);
    const same = tables.length === want.length && tables.every((t, i) => {
      const w = want[i];
      const eligible = t.rows.filter((r) => r.points !== '');
      return t.constraint === 'CONSTRAINT_MEMCG' && t.totalpages === w.totalpages && t.victim === w.victim
        && eligible.length === w.rows.length && w.rows.every((wr) => eligible.some((r) => r.pid === wr.pid && r.points === wr.points));
    });
    check(same, `dpr ${dpr}: each OOM table has the core's constraint, totalpages, candidates and points`, JSON.stringify({ tables, want }).slice(0, 900));
    const hi = tables.map((t) => t.rows.filter((r) => r.victim));
    check(hi.every((h, i) => h.length === 1 && h[0].pid === want[i].victim && /killed/.test(h[0].name) && h[0].bg !== 'rgba(0, 0, 0, 0)'),
      `dpr ${dpr}: the kernel's victim is highlighted, and only it (b first, then a)`, JSON.stringify(hi));
    // The cgroup tree: the numbers are the CLI's.
    const box = await page.$eval('.cg[data-path="box"]', (e) => ({ current: Number(e.dataset.current), max: e.dataset.max, kills: e.dataset.oomKill, text: e.innerText }));
    check(box.current === usage && Number(box.max) === limit && usage > 0, `dpr ${dpr}: the cgroup tree's memory.usage_in_bytes and limit are the CLI's (${usage}, ${limit})`, JSON.stringify(box));
    check(box.kills === '2' && /memory\.limit_in_bytes 96 MiB/.test(box.text), `dpr ${dpr}: the tree shows box's limit and its 2 OOM kills`, box.text);
    // The memory.current chart: the canvas has DPR × its CSS size, and its legend is below it.
    const chart = await page.$eval('#cg-chart', (c) => { const r = c.getBoundingClientRect(); const l = document.querySelector('#cg-chart-legend').getBoundingClientRect();
      return { w: c.width, h: c.height, cw: r.width, ch: r.height, legendTop: l.top, bottom: r.bottom, entries: document.querySelectorAll('#cg-chart-legend li').length }; });
    check(Math.abs(chart.w - chart.cw * dpr) <= 1 && Math.abs(chart.h - chart.ch * dpr) <= 1 && chart.legendTop >= chart.bottom - 0.5 && chart.entries === 1,
      `dpr ${dpr}: the memory.current chart is drawn at ${dpr}× its CSS size, its legend under it`, JSON.stringify(chart));
    if (dpr === 1) await looks(page, look, 'memcg-victim-choice-kill');
    else await (await page.$('#cgroups')).screenshot({ path: path.join(look, 'memcg-victim-choice-cgroups-dpr2.png') });
    await ctx.close();
  }

  // kube-node-pressure: the pods with their QoS classes; the numbers at the global OOM.
  const kube = 'scenarios/kube-node-pressure.vmlab';
  const kubeTrace = vmlab(['run', kube]);
  const kubeKill = Number((/^\s*(\d+)\s.*\boom\.kill\b/m.exec(kubeTrace) || [])[1]);
  const appPath = 'kubepods/burstable/podapi/app';
  const appCur = Number(vmlab(['show', '--at', String(kubeKill), kube, 'memory.current', `/${appPath}`]).trim());
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base);
  await ready(page);
  await page.$eval('.entry-open[data-file="kube-node-pressure.vmlab"]', (b) => b.click());
  await page.waitForFunction(() => Number(document.querySelector('#stepno').dataset.step) === 0);
  await toStep(page, kubeKill);
  const qos = await page.$$eval('.cg', (els) => Object.fromEntries(els.map((e) => [e.dataset.path, { qos: (e.querySelector('.qos') || { dataset: {} }).dataset.qos || '', current: Number(e.dataset.current) }])));
  check(qos['kubepods/poddb'] && qos['kubepods/poddb'].qos === 'Guaranteed' && qos['kubepods/burstable/podapi'].qos === 'Burstable'
    && qos['kubepods/besteffort/podbatch/job'].qos === 'BestEffort' && !qos.kubepods.qos, 'the cgroup tree shows each pod with its QoS class', JSON.stringify(qos).slice(0, 500));
  check(kubeKill > 0 && qos[appPath] && qos[appPath].current === appCur && appCur > 0, `the app container's memory.current at step ${kubeKill} is the CLI's (${appCur})`, JSON.stringify(qos[appPath]));
  const g = await page.$eval('.oom', (e) => ({ constraint: e.dataset.constraint, victim: e.dataset.victim, hi: [...e.querySelectorAll('tr.victim')].map((t) => t.dataset.pid) }));
  check(g.constraint === 'CONSTRAINT_NONE' && g.victim === '1002' && g.hi.join() === '1002', 'a global OOM shows CONSTRAINT_NONE with the BestEffort job as the victim', JSON.stringify(g));
  await looks(page, look, 'kube-node-pressure');

  // Page cache and swapped pages in the page view, each in its own colour.
  await page.fill('#scenario', 'machine linux ram=64MiB swap=64MiB\nspawn a\na mmap x 80MiB rw private anon\na write x\na mmap f 8MiB r private file /srv/data.bin\na read f[0..4MiB]\n');
  await page.click('body', { position: { x: 5, y: 5 } });
  await toStep(page, 5);
  await page.waitForTimeout(150);
  const colours = await page.$eval('#page-canvas', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, seen = new Set();
    for (let i = 0; i < d.length; i += 4) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
    return { cache: seen.has('34,34,51'), swapped: seen.has('217,108,143'), private: seen.has('0,65,238') };
  });
  check(colours.cache && colours.swapped && colours.private, 'the page view draws page-cache, swapped and resident pages in their own colours', JSON.stringify(colours));
  await page.locator('.pages').scrollIntoViewIfNeeded();
  await (await page.$('.pages')).screenshot({ path: path.join(look, 'pages-cache-and-swap.png') });
  await ctx.close();
}

// Issue 10 (web): a Windows machine's page states (reserved, committed, working set, page file)
// in the page view and its legend, the commit meter's numbers equal to the CLI's
// GlobalMemoryStatusEx (ullTotalPageFile is the commit limit, ullAvailPageFile the limit less the
// charge), page-file growth moving the limit, the job panel, and the Linux/Windows compare of the
// same workload with its first divergence; screenshots for people under target/look/.
async function issue10(browser, base, errors) {
  const look = path.join(ROOT, 'target', 'look');
  fs.mkdirSync(look, { recursive: true });
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await fresh(page, base);
  const mem = (text) => Object.fromEntries(text.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 2).map(([k, v]) => [k, Number(v)]));
  const meter = () => page.$eval('#commit-meter', (e) => ({ total: Number(e.dataset.commitTotal), limit: Number(e.dataset.commitLimit), text: e.innerText }));

  // Every Windows page state at once: a reserved region partly committed and touched, then a
  // write that trims the oldest pages to the page file.
  const custom = 'machine windows ram=512MiB pagefile=256MiB..512MiB\nspawn d\nd reserve r 64MiB\nd commit r[0..32MiB]\nd write r[0..8MiB]\nd alloc big 512MiB\nd write big\n';
  fs.writeFileSync(path.join(look, 'win-page-states.vmlab'), custom);
  await page.fill('#scenario', custom);
  await page.click('body', { position: { x: 5, y: 5 } });
  await toStep(page, 6);
  await page.waitForTimeout(200);
  const legend = await page.$$eval('.pages .legend li', (ls) => ls.map((l) => l.innerText.trim()));
  check(legend.join('|') === 'reserved|committed, untouched|resident (working set)|in the page file|mapped view (section)',
    'a Windows machine\'s page legend has its own states (reserved, committed, working set, page file, view)', JSON.stringify(legend));
  const colours = await page.$eval('#page-canvas', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, seen = new Set();
    for (let i = 0; i < d.length; i += 4) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
    return { reserved: seen.has('230,230,230'), committed: seen.has('97,161,255'), ws: seen.has('0,65,238'), pagefile: seen.has('217,108,143') };
  });
  check(colours.reserved && colours.committed && colours.ws && colours.pagefile, 'the page view draws reserved, committed, working-set and page-file pages in their own colours', JSON.stringify(colours));
  const regions = await page.$$eval('.proc-col .gname', (ls) => ls.map((l) => l.innerText));
  check(regions.some((t) => /\br\b/.test(t)) && regions.some((t) => /big/.test(t)), 'the process column lists the allocations r and big', JSON.stringify(regions).slice(0, 300));
  const cli6 = mem(vmlab(['show', '--at', '6', path.join(look, 'win-page-states.vmlab'), 'GlobalMemoryStatusEx']));
  const m6 = await meter();
  check(m6.limit === cli6.ullTotalPageFile && m6.limit - m6.total === cli6.ullAvailPageFile && m6.total > 0,
    `the commit meter's limit and charge are the CLI's GlobalMemoryStatusEx (${cli6.ullTotalPageFile}, ${cli6.ullAvailPageFile} available)`, JSON.stringify({ m6, cli6 }));
  const now = await page.$eval('#now', (e) => e.innerText).catch(async () => page.$eval('.now', (e) => e.innerText));
  check(/trimmed/.test(now) && /model-spec W/.test(now), 'the explanation box gives the step\'s decision with its rule and source', now.slice(0, 300));
  check(!errors.length, 'no page errors on a Windows machine', errors.join(' | '));

  // Page-file growth: the limit moves over the steps, and the meter is the CLI's at every step asked.
  const grow = 'scenarios/win-pagefile-growth.vmlab';
  await page.$eval('.entry-open[data-file="win-pagefile-growth.vmlab"]', (b) => b.click());
  await page.waitForTimeout(200);
  const steps = Number(await page.getAttribute('.scrub', 'max'));
  const limits = [];
  let same = true;
  for (const n of [0, Math.floor(steps / 2), steps]) {
    await toStep(page, n);
    const m = await meter();
    const cli = mem(vmlab(['show', '--at', String(n), grow, 'GlobalMemoryStatusEx']));
    same = same && m.limit === cli.ullTotalPageFile && m.limit - m.total === cli.ullAvailPageFile;
    limits.push(m.limit);
  }
  check(same && steps > 3, 'at steps 0, the middle and the end the meter shows the CLI\'s commit limit and charge', JSON.stringify(limits));
  const last = await meter();
  check(limits[2] > limits[0] && /limit grew/.test(last.text), 'page-file growth shows as the commit limit moving', `${limits} ${last.text.slice(0, 200)}`);
  await shots(page, look, 'win-pagefile-growth');

  // The job panel: the container's JobMemoryLimit, its peak and its processes; no current usage.
  await page.$eval('.entry-open[data-file="win-container-job-limit.vmlab"]', (b) => b.click());
  await page.waitForTimeout(200);
  await toStep(page, Number(await page.getAttribute('.scrub', 'max')));
  const jobs = await page.$eval('#jobs', (e) => e.innerText);
  check(/JobMemoryLimit/.test(jobs) && /PeakJobMemoryUsed/.test(jobs) && /container/.test(jobs) && /not shown: Windows has no query/.test(jobs),
    'the job panel shows each job\'s limits, peaks, processes and says the current usage cannot be queried', jobs.slice(0, 400));
  const meterJob = await page.$$eval('#commit-meter .rule.job', (r) => r.length);
  check(meterJob >= 1, 'the commit meter marks the job\'s limit', String(meterJob));
  for (const [w, h] of [[1440, 900], [1280, 720]]) {
    await page.setViewportSize({ width: w, height: h });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(look, `win-container-screen-${w}x${h}.png`) });
    await page.evaluate(() => document.querySelector('#jobs').scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(look, `win-container-jobs-${w}x${h}.png`) });
  }
  await page.setViewportSize({ width: 1440, height: 900 });

  // The Linux/Windows compare of the same workload.
  await page.$eval('.entry-open[data-file="same-workload-linux.vmlab"]', (b) => b.click());
  await page.waitForTimeout(200);
  await page.selectOption('.compare select', 'os');
  await page.waitForSelector('#cmp-right');
  await toStep(page, 4);
  const cmp = await page.evaluate(() => ({
    note: (document.querySelector('.diverge-note') || {}).innerText || '',
    row: (document.querySelector('tr.diverges') || {}).innerText || '',
    left: document.querySelector('#cmp-left').innerText,
    right: document.querySelector('#cmp-right').innerText,
  }));
  check(/first divergence at step 4/.test(cmp.note) && /ERROR_COMMITMENT_LIMIT/.test(cmp.row) && /mmap/.test(cmp.row),
    'Linux ↔ Windows: the first divergence is the second allocation (mmap ok, alloc fails with ERROR_COMMITMENT_LIMIT)', JSON.stringify(cmp).slice(0, 400));
  check(/Linux/.test(cmp.left.split('\n')[0]) && /Windows/.test(cmp.right.split('\n')[0]) && /CommitTotal/.test(cmp.right) && /Committed_AS/.test(cmp.left),
    'each side names its OS and its own counters', `${cmp.left.slice(0, 120)} | ${cmp.right.slice(0, 120)}`);
  // At the divergence (the compare's head below the sticky bar), then at the kill.
  for (const [w, h] of [[1440, 900], [1280, 720]]) {
    await page.setViewportSize({ width: w, height: h });
    await page.evaluate(() => { document.querySelector('.compare').scrollIntoView({ block: 'start' }); window.scrollBy(0, -70); });
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(look, `compare-linux-windows-step4-${w}x${h}.png`) });
  }
  await page.setViewportSize({ width: 1440, height: 900 });
  await toStep(page, 6);
  const left6 = await page.$eval('#cmp-left', (e) => e.innerText);
  check(/[Kk]ill/.test(left6), 'the Linux side kills a process when the pages are touched', left6.slice(0, 300));
  for (const [w, h] of [[1440, 900], [1280, 720]]) {
    await page.setViewportSize({ width: w, height: h });
    await page.evaluate(() => { document.querySelector('.cmp tr.diverges').scrollIntoView({ block: 'center' }); });
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(look, `compare-linux-windows-step6-${w}x${h}.png`) });
  }
  await page.setViewportSize({ width: 1440, height: 900 });

  // ---- Issue 10, win10 helper: a Hyper-V container's utility VM has a gauge of its own -------
  // (win-container-job-limit at its last step: the VM's CommitTotal and CommitLimit are the ones
  // the CLI's GetPerformanceInfo gives the process svc inside it; its RAM and base are the VM's.)
  {
    await page.selectOption('.compare select', '');
    await page.$eval('.entry-open[data-file="win-container-job-limit.vmlab"]', (b) => b.click());
    await page.waitForTimeout(200);
    const lastStep = Number(await page.getAttribute('.scrub', 'max'));
    await toStep(page, lastStep);
    const vms = await page.$$eval('#commit-meter .vm-gauge', (g) => g.map((e) => ({
      vm: e.dataset.vm, total: Number(e.dataset.commitTotal), limit: Number(e.dataset.commitLimit),
      ram: Number(e.dataset.ram), base: Number(e.dataset.base), text: e.innerText,
    })));
    const perf = mem(vmlab(['show', '--at', String(lastStep), 'scenarios/win-container-job-limit.vmlab', 'GetPerformanceInfo', 'svc']));
    const vm = vms[0] || {};
    check(vms.length === 1 && vm.vm === 'vm' && vm.total === perf.CommitTotal * 4096 && vm.limit === perf.CommitLimit * 4096,
      `the Hyper-V container's VM has its own commit gauge, equal to the CLI's GetPerformanceInfo for svc (${perf.CommitTotal}/${perf.CommitLimit} pages)`, JSON.stringify({ vms, perf }).slice(0, 400));
    check(vm.ram === 2 ** 31 && vm.base === 512 * 2 ** 20 && /VM of vm/.test(vm.text) && /base/.test(vm.text),
      'the VM gauge names the container and shows the VM\'s RAM and base', JSON.stringify(vm).slice(0, 300));
    // What svc can really still commit (the model's answer, printed by the CLI beside the structure).
    const room = await page.$eval('#commit-room [data-proc="svc"]', (e) => ({ room: Number(e.dataset.room), avail: Number(e.dataset.avail) })).catch(() => null);
    const gm = vmlab(['show', '--at', String(lastStep), 'scenarios/win-container-job-limit.vmlab', 'GlobalMemoryStatusEx', 'svc']);
    const cliRoom = Number((gm.match(/really still commit (\d+) bytes/) || [])[1]);
    check(room && room.room === cliRoom && room.avail === mem(gm).ullAvailPageFile,
      `the meter shows what svc can really still commit, the CLI's number (${cliRoom}), beside ullAvailPageFile`, JSON.stringify({ room, cliRoom }));
    await page.evaluate(() => { document.querySelector('#commit-meter').scrollIntoView({ block: 'start' }); window.scrollBy(0, -70); });
    await page.waitForTimeout(150);
    await (await page.$('#commit-meter')).screenshot({ path: path.join(look, 'win-hyperv-vm-gauge.png') });
  }
  // ---- end of the win10 block ------------------------------------------------------------------
  await ctx.close();
}

(async () => {
  const out = path.join(ROOT, 'target', 'e2e');
  fs.mkdirSync(out, { recursive: true });
  const { server, base } = await serveDist();
  const browser = await launch();
  try {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(base);
    await ready(page);

    // 1. The fork-after-merge scenario, from the library.
    const entry = await page.$('.entry-open[data-file*="fork"][data-file*="merge"]');
    check(entry !== null, 'the library lists the fork-after-merge scenario');
    if (entry) await entry.click();
    await page.waitForFunction(() => Number(document.querySelector('#stepno').dataset.step) === 0);
    await page.click('body', { position: { x: 5, y: 5 } }); // keys go to the page, not the editor
    const original = await page.inputValue('#scenario');
    check(/ fork /.test(original) && / mmap /.test(original), 'the editor holds the scenario text');

    // 2. Step to the fork: the ENOMEM explanation is visible.
    check(await stepToFork(page), 'the → key steps to the fork');
    const forkStep = await stepNo(page);
    const cur = await currentStep(page);
    check(/ENOMEM/.test(cur), 'the fork step shows ENOMEM', cur.slice(0, 200));
    check(/RAM\+swap/.test(cur) && /overcommit_memory=0/.test(cur), 'the explanation names the rule (RAM+swap, overcommit_memory=0)', cur.slice(0, 300));
    check(await page.isVisible('.step.current .event .sentence'), 'the explanation is visible');
    await page.screenshot({ path: path.join(out, 'fork-enomem.png'), fullPage: false });

    // 3. Step back.
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((b) => Number(document.querySelector('#stepno').dataset.step) === b - 1, forkStep, { timeout: 5000 }).catch(() => {});
    check((await stepNo(page)) === forkStep - 1, 'the ← key steps back', `at ${await stepNo(page)}`);
    check(!/ENOMEM/.test((await currentStep(page)).split('\n')[0]), 'the step before the fork is not the failure');

    // 4. Edit: the last mmap before the failing fork gets noreserve. MAP_NORESERVE changes its
    // flags, so it no longer merges and is not charged: the merged VMA the fork copies shrinks below
    // RAM + swap and the fork succeeds.
    const forkLine = Number((cur.match(/· line (\d+) ·/) || [])[1]);
    const lines = original.split('\n');
    let last = -1;
    for (let i = 0; i < forkLine - 1 && i < lines.length; i++) if (/^\s*\w+ mmap /.test(lines[i])) last = i;
    if (last >= 0) lines[last] = lines[last].replace(/^([^#]*?)(\s*)(#.*)?$/, (m, code, sp, comment) => `${code} noreserve${sp || ''}${comment || ''}`);
    const edited = lines.join('\n');
    check(last >= 0 && edited !== original, 'the edit adds noreserve to the last mmap before the fork', `fork at line ${forkLine}`);
    await page.fill('#scenario', edited);
    await page.waitForFunction(() => document.querySelectorAll('#diagnostics .diag:not(.run-error)').length === 0, null, { timeout: 5000 }).catch(() => {});
    await page.click('body', { position: { x: 5, y: 5 } });
    // Editing keeps your place (issue 8): the edit is before the current step, so the cursor moved
    // back to the last step before the edited line; step forward to the fork again.
    const movedTo = await stepNo(page);
    check(movedTo < forkStep - 1, 'an edit before the current step moves the cursor before the edited line', `at ${movedTo}`);
    for (let i = 0; i < 80 && (await stepNo(page)) < forkStep; i++) await page.keyboard.press('ArrowRight');
    await page.waitForTimeout(100);
    const after = await currentStep(page);
    check((await stepNo(page)) === forkStep && / fork /.test(after.split('\n')[0]) && /→ ok/.test(after.split('\n')[0]), 'after the edit the same fork succeeds', after.slice(0, 200));

    // 5. Reload through the share URL (a new browser context: no localStorage) and get the same state.
    const url = page.url();
    check(url.includes('#s='), 'the URL carries the scenario', url.slice(0, 80));
    const ctx2 = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const page2 = await ctx2.newPage();
    await page2.goto(url);
    await ready(page2);
    check((await page2.inputValue('#scenario')) === edited, 'the shared link restores the edited text');
    check((await stepNo(page2)) === (await stepNo(page)), 'the shared link restores the step', `${await stepNo(page2)} vs ${await stepNo(page)}`);
    check((await currentStep(page2)) === after, 'the shared link restores the same trace at that step');
    await page2.screenshot({ path: path.join(out, 'vmlab-e2e.png'), fullPage: false });

    // 6. A damaged link: a clear message and the library, never a blank page.
    const page3 = await ctx2.newPage();
    await page3.goto(url.slice(0, url.indexOf('#s=') + 20));
    await ready(page3);
    check(await page3.isVisible('#notice'), 'a truncated link shows a message');
    check(await page3.isVisible('.library'), 'a truncated link still shows the library');


    // 7. Own work survives a library click.
    const own = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const op = await own.newPage();
    op.on('pageerror', (e) => errors.push(String(e)));
    await op.goto(base);
    await ready(op);
    const ownCount = async (p = op) => (await p.$$('#own .own-entry')).length;
    const ownNames = async (p = op) => p.$$eval('#own .own-entry', (els) => els.map((e) => e.dataset.name));
    const libText = await op.inputValue('#scenario');
    const mine = libText + '\n# my own note\n';
    await op.fill('#scenario', mine);
    await op.waitForFunction(() => document.querySelectorAll('#own .own-entry').length === 1, null, { timeout: 5000 }).catch(() => {});
    const names1 = await ownNames();
    check(names1.length === 1 && / \(edited\)$/.test(names1[0]), 'an edit of a library scenario becomes a new own scenario "<title> (edited)"', JSON.stringify(names1));
    await op.$eval('.entry-open:not([data-file*="merge"])', (b) => b.click());
    await op.waitForTimeout(150);
    const other = await op.inputValue('#scenario');
    check(other !== mine && other !== libText, 'a library click opens the library entry');
    check((await ownCount()) === 1, 'a library click keeps the own scenario');
    const stored = parseStore(await op.evaluate(() => localStorage.getItem('vmlab.store')));
    check(stored.version === 1 && (stored.own || []).some((o) => o.text === mine), 'the own scenario is in localStorage (schema version 1)', JSON.stringify(stored).slice(0, 120));
    await op.click('#own .own-open');
    await op.waitForTimeout(150);
    check((await op.inputValue('#scenario')) === mine, 'opening the own scenario gives back its text');

    // 8. A reload (the URL carries the text) and a plain visit both reopen it, without a duplicate.
    await op.reload();
    await ready(op);
    check((await op.inputValue('#scenario')) === mine && (await ownCount()) === 1, 'a reload keeps the own scenario and makes no duplicate', `${await ownCount()} own`);
    await fresh(op, base);
    check((await op.inputValue('#scenario')) === mine, 'a visit without a link reopens the last own scenario');

    // 9. A share link opens as a new own scenario, never over an existing one; twice makes one.
    const sharer = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const sp = await sharer.newPage();
    await sp.goto(base);
    await ready(sp);
    const sharedText = (await sp.inputValue('#scenario')) + '\n# shared by a friend\n';
    const hash0 = await sp.evaluate(() => location.hash);
    await sp.fill('#scenario', sharedText);
    // The rerun (and so the URL) follows a pause in typing: wait for it, not for a fixed time.
    await sp.waitForFunction((h) => location.hash !== h, hash0, { timeout: 5000 }).catch(() => {});
    const shareUrl = sp.url();
    await sharer.close();
    await fresh(op, shareUrl);
    const stored2 = parseStore(await op.evaluate(() => localStorage.getItem('vmlab.store')));
    check((await op.inputValue('#scenario')) === sharedText, 'a share link opens its text');
    check((await ownCount()) === 2 && stored2.own.some((o) => o.text === mine) && stored2.own.some((o) => o.text === sharedText),
      'a share link becomes a new own scenario and the existing one is untouched', JSON.stringify(await ownNames()));
    await fresh(op, shareUrl);
    await ready(op);
    check((await ownCount()) === 2, 'the same link opened twice makes no duplicate', `${await ownCount()} own`);
    // A link pasted into the same tab changes only the fragment: it opens too, without a reload.
    await op.click('#own .own-entry:first-child .own-open');
    await op.waitForTimeout(100);
    await op.evaluate((h) => { location.hash = h; }, shareUrl.slice(shareUrl.indexOf('#')));
    await op.waitForFunction((t) => document.querySelector('#scenario').value === t, sharedText, { timeout: 5000 }).catch(() => {});
    check((await op.inputValue('#scenario')) === sharedText && (await ownCount()) === 2, 'a link pasted into the same tab opens it, without a duplicate');

    // 10. An import becomes an own scenario; a binary file is refused with a message and changes nothing.
    const imported = 'machine linux ram=4GiB\nspawn a\na mmap x 1MiB rw private anon\n';
    await op.setInputFiles('.editor input[type=file]', { name: 'mine.vmlab', mimeType: 'text/plain', buffer: Buffer.from(imported) });
    await op.waitForFunction((t) => document.querySelector('#scenario').value === t, imported, { timeout: 5000 }).catch(() => {});
    check((await op.inputValue('#scenario')) === imported && (await ownNames()).includes('mine'), 'an imported file opens as the own scenario "mine"', JSON.stringify(await ownNames()));
    const before = await ownCount();
    await op.setInputFiles('.editor input[type=file]', { name: 'picture.png', mimeType: 'image/png', buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]) });
    await op.waitForSelector('#notice', { timeout: 5000 }).catch(() => {});
    const notice = (await op.$('#notice')) ? await op.innerText('#notice') : '';
    check(/not a text file/.test(notice), 'a binary file is refused with a message', notice);
    check((await op.inputValue('#scenario')) === imported && (await ownCount()) === before, 'a refused file changes nothing');
    await op.setInputFiles('.editor input[type=file]', { name: 'latin1.vmlab', mimeType: 'text/plain', buffer: Buffer.from([0x73, 0x70, 0x61, 0x77, 0x6e, 0x20, 0xe9, 0x0a]) });
    await op.waitForTimeout(300);
    check(/not UTF-8/.test(await op.innerText('#notice')) && (await ownCount()) === before, 'a file that is not UTF-8 is refused too');
    await shots(op, out, 'own-refused-binary');

    // 11. Delete asks first and can be undone.
    await op.click('#own .own-entry[data-name="mine"] .own-delete');
    check((await ownCount()) === before && (await op.isVisible('.own-delete-yes')), 'delete asks first');
    await shots(op, out, 'own-delete-asks');
    await op.click('.own-delete-yes');
    await op.waitForTimeout(100);
    check((await ownCount()) === before - 1 && (await op.isVisible('#undo-delete')), 'delete removes it and offers undo');
    await op.click('#undo-delete');
    await op.waitForTimeout(100);
    check((await ownCount()) === before && (await ownNames()).includes('mine'), 'undo brings it back');
    const stored3 = parseStore(await op.evaluate(() => localStorage.getItem('vmlab.store')));
    check(stored3.own.some((o) => o.name === 'mine' && o.text === imported), 'the undone delete is saved');

    // 12. The old single-slot storage becomes an own scenario on first load.
    const legacy = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    await legacy.addInitScript(() => { if (!localStorage.getItem('vmlab.store')) localStorage.setItem('vmlab.scenario', '# my old work\nmachine linux ram=2GiB\nspawn old\n'); });
    const lp = await legacy.newPage();
    await lp.goto(base);
    await ready(lp);
    check((await lp.inputValue('#scenario')).includes('my old work') && (await ownNames(lp)).includes('My scenario'), 'the single-slot text of earlier builds is migrated to "My scenario"', JSON.stringify(await ownNames(lp)));
    await legacy.close();

    // 13. A run that stops early says so, on the timeline and in the explanation, and counts what never ran.
    const stops = 'machine linux ram=1GiB swap=0 overcommit=2\nspawn a\nexpect a running\na mmap m 900MiB rw private anon\na fork b\nexpect a running\nb write m\nexpect b running\n';
    await op.fill('#scenario', stops);
    await op.waitForTimeout(150);
    check(await op.isVisible('#timeline-stopped') && /stopped at line 7: /.test(await op.innerText('#timeline-stopped')), 'the timeline says where the run stopped',
      (await op.$('#timeline-stopped')) ? await op.innerText('#timeline-stopped') : 'no mark');
    await op.click('body', { position: { x: 5, y: 5 } });
    for (let i = 0; i < 5; i++) await op.keyboard.press('ArrowRight');
    await op.waitForTimeout(150);
    const nowText = (await op.$('#now-stopped')) ? await op.innerText('#now-stopped') : '';
    check(/stopped at line 7: process `b` has no mapping named `m`/.test(nowText) && /1 expectation never ran/.test(nowText), 'the explanation says the run stopped and what never ran', nowText);
    check(await op.$eval('#now', (e) => e.classList.contains('failed')), 'the explanation is styled as an error');
    const summary = await op.innerText('#checks-summary');
    check(summary === 'Expectations: 2 of 3 hold, 1 never ran', 'the expectations summary counts what never ran', summary);
    await shots(op, out, 'stopped');

    // 14. Editing keeps your place.
    const four = 'machine linux ram=4GiB\nspawn a\na mmap x 1MiB rw private anon\na write x\nspawn b\n';
    await op.fill('#scenario', four);
    await op.click('body', { position: { x: 5, y: 5 } });
    for (let i = 0; i < 3; i++) await op.keyboard.press('ArrowRight');
    await op.waitForTimeout(100);
    const at = await stepNo(op);
    await op.fill('#scenario', four + 'spawn c\n');
    await op.waitForTimeout(100);
    check(at === 3 && (await stepNo(op)) === 3, 'an edit after the current step keeps the step', `at ${at} then ${await stepNo(op)}`);
    await op.fill('#scenario', (four + 'spawn c\n').replace('1MiB', '2MiB'));
    await op.waitForTimeout(100);
    check((await stepNo(op)) === 1, 'an edit before it moves to the last step before the edited line', `at ${await stepNo(op)}`);

    // 15. Keyboard: keys step only outside fields and buttons; a skip link; the Tab stops before Step.
    await op.click('body', { position: { x: 5, y: 5 } });
    await op.keyboard.press('ArrowRight');
    await op.waitForTimeout(80);
    const s0 = await stepNo(op);
    check(s0 === 2, '→ steps when focus is on the page', `at ${s0}`);
    await op.focus('#back');
    await op.keyboard.press('ArrowRight');
    await op.waitForTimeout(80);
    check((await stepNo(op)) === s0, '→ does not step while a button has focus');
    await op.focus('#step');
    await op.keyboard.press(' ');
    await op.waitForTimeout(80);
    check((await stepNo(op)) === s0 + 1 && (await op.getAttribute('#play', 'aria-pressed')) === 'false', 'space on the Step button presses it and does not start playback');
    await op.focus('#scenario');
    await op.keyboard.press('ArrowLeft');
    await op.keyboard.press(' ');
    await op.waitForTimeout(80);
    check((await stepNo(op)) === s0 + 1 && (await op.getAttribute('#play', 'aria-pressed')) === 'false', 'space and ← in the editor type, not step');
    await op.fill('#scenario', four);
    await fresh(op, base);
    await op.keyboard.press('Tab');
    check(await op.evaluate(() => document.activeElement.id === 'skip-picture'), 'the first Tab stop is the skip link');
    await shots(op, out, 'skip-link');
    await op.keyboard.press('Enter');
    await op.waitForTimeout(80);
    check(await op.evaluate(() => document.activeElement.id === 'picture'), 'the skip link moves focus to the picture');
    await fresh(op, base);
    const stops2 = [];
    for (let i = 0; i < 80; i++) {
      await op.keyboard.press('Tab');
      const st = await op.evaluate(() => { const e = document.activeElement; const r = e.getBoundingClientRect();
        return { id: e.id, tag: e.tagName, text: (e.innerText || e.value || '').slice(0, 24), x: r.left + window.scrollX, y: r.top + window.scrollY, lib: !!e.closest('.library') }; });
      stops2.push(st);
      if (st.id === 'step') break;
    }
    const before_step = stops2.length - 1;
    console.log(`     Tab stops before Step: ${before_step} (${stops2.map((s) => s.id || s.text.trim() || s.tag).join(' | ')})`);
    check(stops2[stops2.length - 1].id === 'step' && before_step <= 20, 'at most 20 Tab stops before Step (32 before issue 8)', `${before_step}`);
    // Screen order: the library column top to bottom, then the main column top to bottom.
    let ordered = true, prev = null;
    for (const st of stops2.slice(1)) {
      if (prev && prev.lib === st.lib && st.y + 2 < prev.y) ordered = false;
      if (prev && !prev.lib && st.lib) ordered = false;
      prev = st;
    }
    check(ordered, 'the Tab order follows the screen (library top to bottom, then the controls)');
    await own.close();

    // 16. The one screen (issue 8). In the VMA gallery the views follow the process the step acts on,
    // and a pinned process holds them.
    const gal = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const gp = await gal.newPage();
    gp.on('pageerror', (e) => errors.push(String(e)));
    await gp.goto(base);
    await ready(gp);
    await gp.$eval('.entry-open[data-file*="vma-gallery"]', (b) => b.click());
    await gp.waitForFunction(() => Number(document.querySelector('#stepno').dataset.step) === 0);
    await gp.evaluate(() => window.scrollTo(0, 0));
    await gp.click('body', { position: { x: 5, y: 5 } });
    // What one step shows: its process (the first word of its line), the acting and focused columns.
    const galleryState = () => gp.evaluate(() => {
      const op = (document.querySelector('#now .now-op code') || {}).textContent || '';
      const names = (sel) => [...document.querySelectorAll(sel)].map((e) => e.dataset.name);
      const r = (e) => { const b = e.getBoundingClientRect(); return { w: b.width, h: b.height }; };
      return { step: Number(document.querySelector('#stepno').dataset.step), proc: op.split(' ')[0], acting: names('.proc-col.acting'),
        focus: names('.proc-col.focus'), cols: names('.proc-col'), now: r(document.querySelector('#now')),
        strip: document.querySelectorAll('.strip-names li').length, line: (document.querySelector('#current-line') || { dataset: {} }).dataset.line };
    });
    const seen = new Set();
    let follows = true, followDetail = '', nowSizes = new Set(), stripMatches = true, lineFollows = true;
    const galleryText = await gp.inputValue('#scenario');
    for (let i = 0; i < 30; i++) {
      await gp.keyboard.press('ArrowRight');
      await gp.waitForFunction((n) => Number(document.querySelector('#stepno').dataset.step) === n, i + 1, { timeout: 5000 }).catch(() => {});
      const st = await galleryState();
      nowSizes.add(`${st.now.w.toFixed(1)}x${st.now.h.toFixed(1)}`);
      if (st.strip !== st.cols.length) stripMatches = false;
      const lineText = galleryText.split('\n')[Number(st.line) - 1] || '';
      if (!lineText.trim().startsWith(st.proc)) lineFollows = false;
      if (!st.proc || ['spawn', 'sysctl'].includes(st.proc)) continue;
      seen.add(st.proc);
      if (!(st.acting.includes(st.proc) && st.focus.length === 1 && st.focus[0] === st.proc)) {
        follows = false; followDetail = `step ${st.step}: ${st.proc} acting ${st.acting} focus ${st.focus}`;
      }
    }
    check(follows && seen.size >= 3, 'in the VMA gallery the acting process is marked and the views follow it', followDetail || [...seen].join(','));
    check(lineFollows, "the editor highlights the current step's line");
    check(nowSizes.size === 1, 'the explanation box does not change size between steps', [...nowSizes].join(' '));
    check(stripMatches, 'the physical strip has one row per process drawn side by side');
    const cols = (await galleryState()).cols;
    check(cols.length >= 4, 'every live process has a column', cols.join(','));
    // Pin the first process: stepping on to another process's operations keeps the views on it.
    await gp.click(`.proc-col[data-name="${cols[0]}"] .pin`);
    await gp.click('body', { position: { x: 5, y: 5 } });
    for (let i = 0; i < 3; i++) await gp.keyboard.press('ArrowRight');
    await gp.waitForTimeout(150);
    const pinned = await galleryState();
    check(pinned.focus[0] === cols[0] && pinned.proc !== cols[0] && (await gp.getAttribute(`.proc-col[data-name="${cols[0]}"] .pin`, 'aria-pressed')) === 'true',
      'a pinned process keeps the views while others act', JSON.stringify(pinned));
    await gp.click(`.proc-col[data-name="${cols[0]}"] .pin`);
    await gp.waitForTimeout(100);
    const unpinned = await galleryState();
    check(unpinned.focus[0] !== cols[0] || unpinned.proc === cols[0], 'unpinning gives the views back to the step');

    // At 1280×720 (and at 150 %) the code, the explanation, every process's picture and the
    // counters are within the viewport, without scrolling; the smallest visible text is 14 px.
    const inView = (p) => p.evaluate(() => {
      const vw = window.innerWidth, vh = window.innerHeight, out = [];
      const sel = ['.editor .code', '#now', '#counters', '#picture', '.physical', '.timeline #step'];
      for (const q of sel) document.querySelectorAll(q).forEach((e) => out.push([q, e]));
      document.querySelectorAll('.proc-col').forEach((e) => out.push([`.proc-col[${e.dataset.name}]`, e]));
      const bad = [];
      for (const [q, e] of out) {
        const r = e.getBoundingClientRect();
        if (r.width < 20 || r.height < 20 || r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5) bad.push(`${q} ${Math.round(r.left)},${Math.round(r.top)}-${Math.round(r.right)},${Math.round(r.bottom)}`);
      }
      return { bad, n: out.length, scrolled: window.scrollY, vw, vh };
    });
    const minFont = (p) => p.evaluate(() => {
      let min = Infinity, where = '';
      const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        if (!n.textContent.trim()) continue;
        const e = n.parentElement;
        if (!e || e.closest('.skip-link, .visually-hidden, noscript, option')) continue;
        if (!e.getClientRects().length || getComputedStyle(e).visibility === 'hidden') continue;
        const f = parseFloat(getComputedStyle(e).fontSize);
        if (f < min) { min = f; where = `${e.tagName}.${e.className}: ${n.textContent.trim().slice(0, 30)}`; }
      }
      return { min, where };
    });
    await gp.evaluate(() => window.scrollTo(0, 0));
    const v1 = await inView(gp);
    check(v1.bad.length === 0 && v1.scrolled === 0 && v1.n >= 9, 'at 1280×720 the code, the explanation, every process and the counters are on one screen', JSON.stringify(v1));
    const f1 = await minFont(gp);
    check(f1.min >= 14, 'at 1280×720 the smallest visible text is at least 14 px', `${f1.min} px at ${f1.where}`);
    await gp.screenshot({ path: path.join(out, 'screen-gallery-1280x720.png') });
    await gp.setViewportSize({ width: 1440, height: 900 });
    await gp.waitForTimeout(150);
    await gp.screenshot({ path: path.join(out, 'screen-gallery-1440x900.png') });
    const s1440 = gp.url();
    await gal.close();
    // 150 % zoom: a 1280×720 screen at device scale factor 1.5 is an 853×480 CSS-pixel viewport.
    const zoom = await browser.newContext({ viewport: { width: 853, height: 480 }, deviceScaleFactor: 1.5 });
    const zp = await zoom.newPage();
    zp.on('pageerror', (e) => errors.push(String(e)));
    await zp.goto(s1440);
    await ready(zp);
    await zp.waitForTimeout(150);
    const v2 = await inView(zp);
    check(v2.bad.length === 0 && v2.scrolled === 0, 'at 150 % zoom (853×480 CSS px, scale 1.5) the picture, code, explanation and counters still fit', JSON.stringify(v2));
    await zp.screenshot({ path: path.join(out, 'screen-gallery-1280x720-at-150.png') });
    await zoom.close();

    // A frame shared by a parent and two children is one column marked in three rows; a child's
    // write moves its copy away (read from the strip's canvas pixels).
    const cowCtx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const cp = await cowCtx.newPage();
    cp.on('pageerror', (e) => errors.push(String(e)));
    await cp.goto(base);
    await ready(cp);
    await cp.fill('#scenario', 'machine linux ram=4GiB\nspawn p\np mmap x 8MiB rw private anon\np write x\np fork a\np fork b\na write x[0..4MiB]\n');
    await cp.click('body', { position: { x: 5, y: 5 } });
    const marks = () => cp.evaluate(() => {
      const c = document.querySelector('#frame-canvas'); const g = c.getContext('2d');
      const rows = document.querySelectorAll('.strip-names li').length, rh = c.height / Math.max(rows, 1);
      // For each row, which of 64 sample columns are marked (not white or the break grey), and in which colour.
      return [...Array(rows).keys()].map((r) => [...Array(64).keys()].map((i) => {
        const d = g.getImageData(Math.floor((i + 0.5) * c.width / 64), Math.floor(r * rh + rh / 2), 1, 1).data;
        const grey = (d[0] === 255 && d[1] === 255 && d[2] === 255) || (d[0] === 236 && d[1] === 239 && d[2] === 242);
        return grey ? '.' : `${d[0]},${d[1]},${d[2]}`;
      }));
    });
    const settle = async (n) => {
      await cp.waitForFunction((k) => Number(document.querySelector('#stepno').dataset.step) === k, n, { timeout: 5000 }).catch(() => {});
      await cp.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    };
    for (let i = 0; i < 5; i++) await cp.keyboard.press('ArrowRight');
    await settle(5);
    const m5 = await marks();
    const same = m5.length === 3 && m5[0].join() === m5[1].join() && m5[1].join() === m5[2].join() && m5[0].some((x) => x !== '.');
    check(same, 'after two forks the parent and both children mark the same frames', `${await stepNo(cp)}: ${JSON.stringify(m5.map((r) => r.filter((x) => x !== '.').length))}`);
    await cp.screenshot({ path: path.join(out, 'screen-cow-shared-1280x720.png') });
    await cp.keyboard.press('ArrowRight');
    await settle(6);
    const m6 = await marks();
    const moved = m6.length === 3 && m6[1].join() !== m6[0].join() && m6[0].join() === m6[2].join() && m6[1].some((x) => x !== '.');
    check(moved, "a child's write splits its frames away from the shared ones", JSON.stringify(m6.map((r) => r.filter((x) => x !== '.').length)));
    check(await cp.$eval('.proc-col[data-name="a"] .gvma', (e) => e.classList.contains('cow')), 'the COW break is highlighted on the VMA that made it');
    await cp.screenshot({ path: path.join(out, 'screen-cow-split-1280x720.png') });
    await cowCtx.close();

    await issue8More(browser, base, out, errors);
    await issue9(browser, base, errors);
    await issue10(browser, base, errors);

    check(errors.length === 0, 'no uncaught page errors', errors.join('; '));
    console.log(`screenshots: ${out}`);
  } finally {
    await browser.close();
    server.close();
  }
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})().catch((e) => { console.error(`e2e: error: ${e.stack || e}`); process.exit(1); });
