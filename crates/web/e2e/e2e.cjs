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
//
// And (issue 8, the audit's gaps): typing key by key through parse errors keeps the step; ten
// processes get ten columns in view at 1280×720 (twelve fit, a thirteenth is "+1 more"); the Tab
// order walks every stop in screen reading order and Import opens on Enter and Space; merges and
// splits highlighted in the acting column with split pieces named `big[64MiB..128MiB]`; the Random
// button's workload runs to its end and an edit of it is "Random seed N (edited)"; two tabs keep
// each other's own scenarios; the main chart at DPR 1 and 2 (size, text, no overlap); the
// one-screen checks at 150 % (count and smallest text) and on the default and a Windows scenario;
// smaps' VmFlags codes explained; compare's VMAs; and keys in the seed box, speed menu and slider.
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

// Presses Tab until focus leaves the page or comes back to the first stop, and returns every stop:
// its id, tag, classes, the column block it is in (see tabOrder) and its box as laid out, with the
// scrolling of the window and of every scrolled ancestor taken back.
async function tabStops(page, max = 600) {
  const stops = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const st = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      const unscrolled = (el) => {
        const r = el.getBoundingClientRect();
        let dx = window.scrollX, dy = window.scrollY;
        for (let a = el.parentElement; a; a = a.parentElement) { dx += a.scrollLeft; dy += a.scrollTop; }
        return { left: r.left + dx, top: r.top + dy, right: r.right + dx, bottom: r.bottom + dy };
      };
      const region = e.closest('.skip-link, .top') ? 0 : e.closest('.screen-left') ? 1 : e.closest('.screen-right') ? 2 : e.closest('.more') ? 3 : -1;
      // The skip link shows over the header: it reads as the header's first stop.
      const block = e.closest('.skip-link') ? document.querySelector('.top') : e.closest('.top, .proc-col, .screen-left > *, .screen-right > *, .more > *') || e;
      if (!block.dataset.tabBlock) block.dataset.tabBlock = String(document.querySelectorAll('[data-tab-block]').length + 1);
      return { id: e.id, tag: e.tagName, type: e.type || '', cls: String(e.className || ''), text: (e.innerText || e.value || '').slice(0, 24),
        region, block: block.dataset.tabBlock, blockName: `${block.tagName}.${String(block.className).split(' ')[0]}`, box: unscrolled(e), blockBox: unscrolled(block) };
    });
    if (!st || (stops.length > 0 && st.id && st.id === stops[0].id)) break;
    stops.push(st);
  }
  return stops;
}

// Screen reading order: the regions header (0), left column (1), right column (2), lower area
// (3) in that order, each entered once; in a region, its blocks (a panel, a process's column, a
// column of the lower area) each entered once, the next one to the right of or below the last;
// in a block, top to bottom (left to right within a row).
function tabOrder(stops) {
  const seenRegion = new Set(), seenBlock = new Set();
  for (let i = 0; i < stops.length; i++) {
    const b = stops[i], a = stops[i - 1];
    const name = (s) => `#${i} ${s.id || s.cls.split(' ')[0] || s.tag} in ${s.blockName}`;
    if (b.region < 0) return { ok: false, why: `${name(b)} is in no screen region` };
    if (!a || a.region !== b.region) {
      if (seenRegion.has(b.region) || (a && b.region < a.region)) return { ok: false, why: `${name(b)} goes back to region ${b.region} after ${name(a)}` };
      seenRegion.add(b.region);
    }
    if (!a || a.block !== b.block) {
      if (seenBlock.has(b.block)) return { ok: false, why: `${name(b)} goes back to a block it left (after ${name(a)})` };
      seenBlock.add(b.block);
      if (a && a.region === b.region && !(b.blockBox.left >= a.blockBox.right - 4 || b.blockBox.top >= a.blockBox.bottom - 4)) {
        return { ok: false, why: `${name(b)} is neither right of nor below ${name(a)}: ${JSON.stringify([a.blockBox, b.blockBox])}` };
      }
      continue;
    }
    const sameRow = b.box.top < a.box.bottom - 1 && b.box.bottom > a.box.top + 1;
    if (sameRow ? b.box.left < a.box.left - 2 : b.box.top < a.box.top - 2) {
      return { ok: false, why: `${name(b)} comes before ${name(a)} on the screen: ${JSON.stringify([a.box, b.box])}` };
    }
  }
  return { ok: true, why: '' };
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
  // … and in /proc/PID/smaps: each code of a VmFlags: line is an abbr with its explanation, and a
  // legend under the file explains every code the file shows (flags.rs, the same table).
  await lp.click('.procfiles button[role=tab]:has-text("smaps")');
  await lp.waitForTimeout(150);
  const smaps = await lp.evaluate(() => {
    const pre = document.querySelector('#procfile');
    const codes = pre.innerText.split('\n').filter((l) => l.startsWith('VmFlags:')).flatMap((l) => l.slice(8).trim().split(/\s+/)).filter(Boolean);
    return { codes, abbrs: [...pre.querySelectorAll('abbr.flag')].map((a) => ({ code: a.textContent, title: a.title })),
      legend: [...document.querySelectorAll('#flag-legend li')].map((li) => ({ code: li.dataset.code, text: li.innerText })) };
  });
  const distinct = [...new Set(smaps.codes)];
  check(smaps.codes.length > 0 && smaps.abbrs.length === smaps.codes.length && smaps.abbrs.every((a) => a.title.startsWith(`${a.code} = VM_`)),
    'in /proc/PID/smaps every VmFlags code is an abbr whose hover text explains it', JSON.stringify(smaps.abbrs.slice(0, 4)));
  check(distinct.length === smaps.legend.length && distinct.every((c) => smaps.legend.some((l) => l.code === c && /VM_[A-Z]+: /.test(l.text))) && distinct.includes('nr'),
    'a legend under the smaps file explains each of its VmFlags codes (nr among them)', JSON.stringify({ distinct, legend: smaps.legend.map((l) => l.text) }).slice(0, 500));
  await (await lp.$('.procfiles')).screenshot({ path: path.join(out, 'smaps-flags.png') });
  await lp.click('.procfiles button[role=tab]:has-text("meminfo")');

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
  // Each side's VMAs at the step: mode 0 mapped m (900 MiB), mode 2 refused it; every flag code
  // there has its explanation as hover text.
  const cmpVmas = await lp.evaluate(() => ['#cmp-left', '#cmp-right'].map((id) => [...document.querySelectorAll(`${id} .cmp-vmas li`)].map((li) => ({
    name: (li.querySelector('code') || {}).textContent, text: li.innerText, flags: [...li.querySelectorAll('abbr.flag')].map((a) => ({ code: a.textContent.trim(), title: a.title })) }))));
  const leftM = cmpVmas[0].find((v) => v.name === 'm');
  check(leftM && /900 MiB/.test(leftM.text) && !cmpVmas[1].some((v) => v.name === 'm'), "compare lists each side's VMAs: m (900 MiB) on the left, none on the right, whose mmap failed", JSON.stringify(cmpVmas).slice(0, 400));
  const cmpFlags = cmpVmas.flat().flatMap((v) => v.flags);
  check(cmpFlags.length > 0 && cmpFlags.every((f) => f.title.startsWith(`${f.code} = VM_`)) && cmpFlags.some((f) => f.code === 'ac' && /VM_ACCOUNT: .*Committed_AS/.test(f.title)),
    "every flag code in compare's VMA lists explains itself on hover (ac = VM_ACCOUNT)", JSON.stringify(cmpFlags.slice(0, 4)));
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

// The one screen: which of the parts that must be in view are not (the code, the explanation,
// the counters — or a Windows machine's commit meter in their place —, the picture, the physical
// strip, the Step button and every process's column), which are missing, and how many there are.
const inView = (p) => p.evaluate(() => {
  const vw = window.innerWidth, vh = window.innerHeight, out = [], missing = [];
  const sel = ['.editor .code', '#now', '#counters, #commit-meter', '#picture', '.physical', '.timeline #step'];
  for (const q of sel) { const found = document.querySelectorAll(q); if (!found.length) missing.push(q); found.forEach((e) => out.push([q, e])); }
  const cols = document.querySelectorAll('.proc-col');
  cols.forEach((e) => out.push([`.proc-col[${e.dataset.name}]`, e]));
  const bad = [];
  for (const [q, e] of out) {
    const r = e.getBoundingClientRect();
    if (r.width < 20 || r.height < 20 || r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5) bad.push(`${q} ${Math.round(r.left)},${Math.round(r.top)}-${Math.round(r.right)},${Math.round(r.bottom)}`);
  }
  return { bad, missing, n: out.length, expected: sel.length + cols.length, cols: cols.length, scrolled: window.scrollY, vw, vh };
});
// The smallest font size of any visible text on the page (CSS px), and where it is.
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
// The one-screen checks of `url` (a scenario at a step) at 1280×720 and at 150 % zoom of it
// (853×480 CSS px at scale 1.5): every part in view without scrolling, none missing, as many at
// 150 % as at 100 %, and no text under 14 px.
async function oneScreen(browser, url, name, out, errors) {
  let n100 = 0;
  for (const [label, opts] of [['1280×720', { viewport: { width: 1280, height: 720 } }], ['150 %', { viewport: { width: 853, height: 480 }, deviceScaleFactor: 1.5 }]]) {
    const ctx = await browser.newContext(opts);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url);
    await ready(page);
    await page.waitForTimeout(150);
    const v = await inView(page);
    if (!n100) n100 = v.n;
    check(v.bad.length === 0 && v.missing.length === 0 && v.scrolled === 0 && v.n >= v.expected && v.n >= n100 && v.cols >= 1,
      `${name} at ${label}: the code, the explanation, the counters, every process and the Step button are on one screen (${v.n} parts)`, JSON.stringify(v));
    const f = await minFont(page);
    check(f.min >= 14, `${name} at ${label}: the smallest visible text is at least 14 px`, `${f.min} px at ${f.where}`);
    await page.screenshot({ path: path.join(out, `screen-${name.replace(/\W+/g, '-')}-${label === '150 %' ? '1280x720-at-150' : '1280x720'}.png`) });
    await ctx.close();
  }
}

// The one-screen checks also on the default scenario (fork-after-merge at its failing fork) and
// on a Windows machine (win-pagefile-growth half-way, its commit meter where the counters are).
async function oneScreenMore(browser, base, out, errors) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base);
  await ready(page);
  await page.click('body', { position: { x: 5, y: 5 } });
  check(await stepToFork(page), 'the default scenario steps to its failing fork');
  await page.waitForTimeout(100);
  const forkUrl = page.url();
  await page.$eval('.entry-open[data-file="win-pagefile-growth.vmlab"]', (b) => b.click());
  await page.waitForTimeout(150);
  await toStep(page, Math.floor(Number(await page.getAttribute('.scrub', 'max')) / 2));
  await page.waitForTimeout(100);
  check((await page.$('#commit-meter')) !== null && (await page.$('#counters')) === null, 'a Windows machine shows its commit meter in place of the counters');
  const winUrl = page.url();
  await ctx.close();
  await oneScreen(browser, forkUrl, 'fork-after-merge', out, errors);
  await oneScreen(browser, winUrl, 'win-pagefile-growth', out, errors);
}

// The Random button (issue 8): its workload, whatever the seed, runs to its end (no stopped mark,
// the last step reached), and an edit of it becomes an own scenario "Random seed N (edited)".
async function randomButton(browser, base, errors) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base);
  await ready(page);
  const runs = [];
  for (let i = 0; i < 3; i++) {
    await page.click('#random');
    await page.waitForTimeout(150);
    const seed = Number(((await page.innerText('#seed-badge')).match(/seed (\d+)/) || [])[1]);
    const steps = Number(await page.getAttribute('.scrub', 'max'));
    await toStep(page, steps);
    const ops = (await page.inputValue('#scenario')).split('\n').filter((l) => l.trim() && !l.startsWith('#')).length - 1;
    runs.push({ seed, steps, ops, at: await stepNo(page), stopped: (await page.$('#timeline-stopped')) !== null, diags: (await page.$$('#diagnostics .diag')).length });
  }
  check(runs.every((r) => r.seed >= 0 && r.steps > 40 && r.steps === r.ops && r.at === r.steps && !r.stopped && r.diags === 0),
    'the Random button\'s workloads run to their end (every line a step, no "stopped at")', JSON.stringify(runs));
  const seed = runs[runs.length - 1].seed;
  const text = await page.inputValue('#scenario');
  await page.fill('#scenario', text + '# my change\n');
  await page.waitForTimeout(150);
  const own = await page.$$eval('#own .own-entry', (els) => els.map((e) => e.dataset.name));
  const stored = parseStore(await page.evaluate(() => localStorage.getItem('vmlab.store')));
  check(own.length === 1 && own[0] === `Random seed ${seed} (edited)` && stored.own.some((o) => o.name === own[0] && o.text === text + '# my change\n') && (await page.$('#seed-badge')) === null,
    `an edit of the random workload becomes the own scenario "Random seed ${seed} (edited)"`, JSON.stringify({ own, stored: stored.own.map((o) => o.name) }));
  await ctx.close();
}

// Two open tabs (one browser context, one localStorage) each add an own scenario: neither loses
// the other's, in storage and in both libraries, live (the storage event) and after a reload.
async function twoTabs(browser, base, errors) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const [t1, t2] = [await ctx.newPage(), await ctx.newPage()];
  for (const t of [t1, t2]) { t.on('pageerror', (e) => errors.push(String(e))); await t.goto(base); await ready(t); }
  const names = (t) => t.$$eval('#own .own-entry', (els) => els.map((e) => e.dataset.name));
  const addOwn = async (t, file, note) => {
    await t.$eval(`.entry-open[data-file="${file}"]`, (b) => b.click());
    await t.waitForTimeout(100);
    const text = (await t.inputValue('#scenario')) + `\n# ${note}\n`;
    await t.fill('#scenario', text);
    await t.waitForTimeout(150);
    return text;
  };
  // Both tabs loaded the empty store; each then adds its own scenario.
  const text1 = await addOwn(t1, 'cow-pss.vmlab', 'tab one');
  const text2 = await addOwn(t2, 'vma-gallery.vmlab', 'tab two');
  const stored = parseStore(await t1.evaluate(() => localStorage.getItem('vmlab.store')));
  check(stored.own.some((o) => o.text === text1) && stored.own.some((o) => o.text === text2) && stored.own.length === 2,
    'two tabs each add an own scenario: both are in storage (the later save merged, not overwrote)', JSON.stringify(stored.own.map((o) => o.name)));
  await t1.waitForFunction(() => document.querySelectorAll('#own .own-entry').length === 2, null, { timeout: 5000 }).catch(() => {});
  const live = [await names(t1), await names(t2)];
  check(live.every((n) => n.length === 2), "each tab's library lists both, without a reload (the storage event)", JSON.stringify(live));
  // Tab one goes on typing in its scenario: the save keeps tab two's.
  await t1.fill('#scenario', text1 + '# more\n');
  await t1.waitForTimeout(150);
  for (const t of [t1, t2]) { await t.reload(); await ready(t); }
  const after = [await names(t1), await names(t2)];
  const stored2 = parseStore(await t1.evaluate(() => localStorage.getItem('vmlab.store')));
  check(after.every((n) => n.length === 2) && stored2.own.some((o) => o.text === text1 + '# more\n') && stored2.own.some((o) => o.text === text2),
    'after more typing in one tab and a reload of both, both libraries list both scenarios', JSON.stringify({ after, stored: stored2.own.map((o) => o.name) }));
  await ctx.close();
}

// The main chart (#chart) at device pixel ratio 1 and 2: the canvas is DPR × its CSS size, its text
// (the size the drawing code used, written on the canvas as data-font-px) is at least 12 CSS px,
// the plot and its tick-label bands (data-plot, data-x-labels, data-y-labels, as drawn) do not
// overlap, the widest y label fits its band, and the HTML legend is clear of the canvas.
async function mainChart(browser, base, out, errors) {
  const box = (v) => { const [l, t, r, b] = String(v || '').split(',').map(Number); return { l, t, r, b }; };
  const meets = (a, b) => a.l < b.r - 0.5 && b.l < a.r - 0.5 && a.t < b.b - 0.5 && b.t < a.b - 0.5;
  for (const dpr of [1, 2]) {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: dpr });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(base);
    await ready(page);
    await toStep(page, 3);
    await page.locator('#chart').scrollIntoViewIfNeeded();
    await page.waitForTimeout(150);
    const c = await page.$eval('#chart', (e) => {
      const r = e.getBoundingClientRect(), l = document.querySelector('#chart-legend').getBoundingClientRect();
      return { w: e.width, h: e.height, cw: r.width, ch: r.height, canvas: { l: r.left, t: r.top, r: r.right, b: r.bottom }, legend: { l: l.left, t: l.top, r: l.right, b: l.bottom },
        entries: document.querySelectorAll('#chart-legend li').length, font: Number(e.dataset.fontPx), dpr: Number(e.dataset.dpr), plot: e.dataset.plot,
        xl: e.dataset.xLabels, yl: e.dataset.yLabels, ymax: Number(e.dataset.yLabelMaxW), xn: Number(e.dataset.xLabelCount) };
    });
    check(Math.abs(c.w - Math.round(c.cw * dpr)) <= 1 && Math.abs(c.h - Math.round(c.ch * dpr)) <= 1 && c.dpr === dpr,
      `dpr ${dpr}: the main chart's canvas is ${dpr}× its CSS size (crisp)`, JSON.stringify({ w: c.w, h: c.h, cw: c.cw, ch: c.ch, dpr: c.dpr }));
    check(c.font >= 12, `dpr ${dpr}: the main chart's text is drawn at ${c.font} CSS px (at least 12)`);
    const [plot, xl, yl] = [box(c.plot), box(c.xl), box(c.yl)];
    const inside = (a) => a.l >= -0.5 && a.t >= -0.5 && a.r <= c.cw + 0.5 && a.b <= c.ch + 0.5 && a.r > a.l && a.b > a.t;
    check(inside(plot) && inside(xl) && inside(yl) && !meets(plot, xl) && !meets(plot, yl) && !meets(xl, yl),
      `dpr ${dpr}: the plot and its tick-label bands lie on the canvas and do not overlap`, JSON.stringify({ plot, xl, yl, cw: c.cw, ch: c.ch }));
    check(c.ymax > 0 && c.ymax <= (yl.r - yl.l) - c.font - 5 && c.xn >= 2, `dpr ${dpr}: the widest y tick label (${c.ymax} px) fits its band beside the axis name`, JSON.stringify(c));
    check(c.entries >= 3 && !meets(c.canvas, c.legend) && c.legend.t >= c.canvas.b - 0.5, `dpr ${dpr}: the chart's legend is under the canvas, never over the plot`, JSON.stringify({ canvas: c.canvas, legend: c.legend }));
    await (await page.$('.chart-panel')).screenshot({ path: path.join(out, `chart-dpr${dpr}.png`) });
    await ctx.close();
  }
}

// Every live process side by side (issue 8): a scenario of ten processes, each with a mapping,
// gets ten columns at 1280×720, none left out, every one inside the viewport, each name cut short
// at most (the whole name in its hover text).
async function tenProcesses(browser, base, out, errors) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base);
  await ready(page);
  const names = [...Array(10).keys()].map((i) => `worker${i}`);
  const text = ['# Ten processes side by side', 'machine linux ram=8GiB swap=1GiB']
    .concat(names.flatMap((n, i) => [`spawn ${n}`, `${n} mmap buf${i} ${4 * (i + 1)}MiB rw private anon`, `${n} write buf${i}`])).join('\n') + '\n';
  fs.writeFileSync(path.join(out, 'ten-processes.vmlab'), text);
  await page.fill('#scenario', text);
  await page.click('body', { position: { x: 5, y: 5 } });
  await toStep(page, names.length * 3);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(150);
  const st = await page.evaluate(() => {
    const vw = window.innerWidth, vh = window.innerHeight;
    const cols = [...document.querySelectorAll('.proc-col')].map((c) => {
      const r = c.getBoundingClientRect();
      const pn = c.querySelector('.proc-name');
      return { name: c.dataset.name, title: (pn || {}).title || '', shown: pn ? pn.innerText.replace(/^▶\s*/, '').trim() : '', clipped: pn ? pn.scrollWidth > pn.clientWidth + 1 : true, left: r.left, right: r.right, top: r.top, bottom: r.bottom,
        vmaTitles: [...c.querySelectorAll('.gvma')].map((v) => v.title) };
    });
    return { cols, vw, vh, hidden: !!document.querySelector('#hidden-procs'), stepText: document.querySelector('#stepno').innerText };
  });
  check(st.cols.length === names.length && names.every((n) => st.cols.some((c) => c.name === n)) && !st.hidden,
    'ten live processes get ten columns side by side, none left out (no "+N more")', JSON.stringify({ cols: st.cols.map((c) => c.name), hidden: st.hidden, step: st.stepText }));
  const outside = st.cols.filter((c) => c.left < -0.5 || c.top < -0.5 || c.right > st.vw + 0.5 || c.bottom > st.vh + 0.5 || c.right - c.left < 40);
  check(outside.length === 0, 'at 1280×720 every one of the ten columns is inside the viewport (at least 40 px wide)', JSON.stringify(outside).slice(0, 400));
  check(st.cols.every((c) => c.title.startsWith(c.name) && c.vmaTitles.some((t) => t.startsWith(`buf${c.name.slice(6)} of ${c.name}`))),
    'each column gives its whole process name and its VMA names in the hover text', JSON.stringify(st.cols.map((c) => [c.title, c.vmaTitles[0]])).slice(0, 400));
  const shown = st.cols.map((c) => c.shown);
  check(new Set(shown).size === shown.length && st.cols.every((c) => !c.clipped), 'the ten narrow columns show ten different names, none cut by the column', JSON.stringify(st.cols.map((c) => [c.shown, c.clipped])));
  await page.screenshot({ path: path.join(out, 'ten-processes-1280x720.png') });
  // The cap (processes.rs MAX_COLUMNS = 12): twelve still fit side by side; a thirteenth is
  // counted in the "+1 more" note instead of getting a sliver.
  for (const n of [12, 13]) {
    const more = [...Array(n).keys()].map((i) => `p${i}`);
    const t = ['machine linux ram=8GiB'].concat(more.flatMap((m, i) => [`spawn ${m}`, `${m} mmap b${i} 4MiB rw private anon`])).join('\n') + '\n';
    await page.fill('#scenario', t);
    await page.click('body', { position: { x: 5, y: 5 } });
    await toStep(page, n * 2);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(150);
    const v = await inView(page);
    const hidden = (await page.$('#hidden-procs')) ? await page.innerText('#hidden-procs') : '';
    check(v.bad.length === 0 && v.cols === Math.min(n, 12) && (n > 12 ? /\+1 more/.test(hidden) : hidden === ''),
      `${n} processes at 1280×720: ${Math.min(n, 12)} columns, all in view${n > 12 ? ', and a "+1 more" note' : ''}`, JSON.stringify({ v, hidden }));
    if (n === 12) await page.screenshot({ path: path.join(out, 'twelve-processes-1280x720.png') });
  }
  await ctx.close();
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
  // A text just typed runs after the app's typing pause (EDIT_PAUSE_MS): wait for its steps.
  await page.waitForFunction((n) => Number(document.querySelector('.scrub').max) >= n, n, { timeout: 2000 }).catch(() => {});
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
  // The Windows model keeps no frame numbers: the strip's panel says so instead of empty rows.
  const winStrip = await page.evaluate(() => ({ note: (document.querySelector('#physical-windows') || {}).innerText || '', canvas: !!document.querySelector('#frame-canvas') }));
  check(/working set/.test(winStrip.note) && !winStrip.canvas, 'on Windows the physical panel explains that frames are not modelled, and draws no empty strip', JSON.stringify(winStrip));
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
    // The text runs once typing pauses (EDIT_PAUSE_MS).
    await page.waitForTimeout(150);
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
    // Typed key by key, a new line passes through texts that do not parse (`s`, `sp`, …, `spawn`):
    // the step is still kept once the line is whole. Each key waits out the app's typing pause
    // (EDIT_PAUSE_MS, 50 ms), after which the text runs.
    await op.fill('#scenario', four);
    await toStep(op, 3);
    await op.focus('#scenario');
    await op.evaluate(() => { const t = document.querySelector('#scenario'); t.setSelectionRange(t.value.length, t.value.length); });
    let sawError = false;
    for (const ch of 'spawn c') {
      await op.keyboard.type(ch);
      await op.waitForTimeout(90);
      if (await op.$eval('.editor .code', (e) => e.classList.contains('invalid'))) sawError = true;
    }
    await op.waitForTimeout(100);
    check(sawError && (await op.inputValue('#scenario')) === four + 'spawn c' && (await stepNo(op)) === 3,
      'typing a new line after the current one, key by key through parse errors, keeps the step', `saw an error: ${sawError}, at ${await stepNo(op)}`);
    // Typed faster than the pause, the text runs once typing stops, keeping the place.
    await op.fill('#scenario', four);
    await toStep(op, 3);
    await op.focus('#scenario');
    await op.evaluate(() => { const t = document.querySelector('#scenario'); t.setSelectionRange(t.value.length, t.value.length); });
    await op.keyboard.type('spawn d\n', { delay: 5 });
    await op.waitForTimeout(200);
    const ranLate = await op.$eval('#stepno', (e) => e.textContent);
    check(/\/\s*5\b/.test(ranLate) && (await stepNo(op)) === 3 && (await op.inputValue('#scenario')) === four + 'spawn d\n',
      'text typed faster than the typing pause runs when typing pauses, and the place is kept', `${ranLate}, at ${await stepNo(op)}`);
    // Leaving the page within the pause still stores what was typed.
    await op.keyboard.type('# typed just before leaving\n', { delay: 2 });
    await op.reload();
    await ready(op);
    check((await op.inputValue('#scenario')).endsWith('# typed just before leaving\n'), 'what was typed just before a reload is kept');
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
    // In the other fields the keys keep their own meaning too: the seed box and the speed menu
    // never step or play; on the slider → moves the slider by one step (its own), not by two.
    const keysIn = async (sel, keys) => {
      await op.focus(sel);
      const before = await stepNo(op);
      const steps = [];
      for (const k of keys) { await op.keyboard.press(k); await op.waitForTimeout(60); steps.push(await stepNo(op)); }
      await op.keyboard.press('Escape');
      return { before, steps, playing: await op.getAttribute('#play', 'aria-pressed'), tag: await op.evaluate(() => document.activeElement.tagName) };
    };
    const seedKeys = await keysIn('#seed', ['ArrowRight', 'ArrowLeft', ' ']);
    check(seedKeys.tag === 'INPUT' && seedKeys.steps.every((x) => x === seedKeys.before) && seedKeys.playing === 'false', '→ ← and space in the seed box do not step or play', JSON.stringify(seedKeys));
    const speedKeys = await keysIn('.speed select', ['ArrowRight', 'ArrowLeft', ' ']);
    check(speedKeys.tag === 'SELECT' && speedKeys.steps.every((x) => x === speedKeys.before) && speedKeys.playing === 'false', '→ ← and space on the speed menu do not step or play', JSON.stringify(speedKeys));
    const scrubKeys = await keysIn('.scrub', ['ArrowRight', 'ArrowLeft', ' ']);
    check(scrubKeys.tag === 'INPUT' && scrubKeys.steps.join() === [scrubKeys.before + 1, scrubKeys.before, scrubKeys.before].join() && scrubKeys.playing === 'false',
      'on the slider → and ← move it one step (its own meaning, not a second step) and space does not play', JSON.stringify(scrubKeys));
    await op.fill('#scenario', four);
    await fresh(op, base);
    await op.keyboard.press('Tab');
    check(await op.evaluate(() => document.activeElement.id === 'skip-picture'), 'the first Tab stop is the skip link');
    await shots(op, out, 'skip-link');
    await op.keyboard.press('Enter');
    await op.waitForTimeout(80);
    check(await op.evaluate(() => document.activeElement.id === 'picture'), 'the skip link moves focus to the picture');
    // Every Tab stop, from the skip link to the last, at a step with something in every panel.
    await fresh(op, base);
    await toStep(op, 2);
    await op.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
    const stops2 = await tabStops(op);
    const stepAt = stops2.findIndex((s) => s.id === 'step');
    console.log(`     ${stops2.length} Tab stops; before Step: ${stepAt} (${stops2.slice(0, stepAt + 1).map((s) => s.id || s.text.trim() || s.tag).join(' | ')})`);
    check(stepAt > 0 && stepAt <= 20, 'at most 20 Tab stops before Step (32 before issue 8)', `${stepAt}`);
    const order = tabOrder(stops2);
    check(order.ok && stops2.length > 30, `the Tab order follows the screen: header, left column, right column, then the lower area, top to bottom in each column (${stops2.length} stops)`, order.why);
    const has = (pred) => stops2.some(pred);
    check(has((s) => s.id === 'import') && has((s) => s.id === 'scenario') && has((s) => s.cls.includes('gvma')) && has((s) => s.cls.includes('pin'))
      && has((s) => s.tag === 'SUMMARY' || s.cls.includes('own-open')) && has((s) => s.cls.includes('steplink')), 'the Tab walk reaches the editor, the picture, the library and the log',
      stops2.map((s) => s.id || s.cls).join(' | ').slice(0, 400));
    check(!has((s) => s.tag === 'INPUT' && s.type === 'file'), 'the hidden file input is no Tab stop of its own (the Import label is)');
    // The Import label opens the file chooser on Enter and on Space, as a button would. (The
    // listener is in place first: Playwright intercepts choosers only once it has one.)
    let choosers = 0;
    const onChooser = (c) => { choosers++; c.setFiles([]).catch(() => {}); };
    op.on('filechooser', onChooser);
    await op.waitForTimeout(300);
    for (const key of ['Enter', ' ']) {
      await op.focus('#import');
      const before = choosers;
      await op.keyboard.press(key);
      for (let t = 0; t < 30 && choosers === before; t++) await op.waitForTimeout(100);
      const pressed = await op.getAttribute('#play', 'aria-pressed');
      check(choosers === before + 1 && pressed === 'false', `${key === ' ' ? 'Space' : 'Enter'} on Import opens the file chooser (and does not play)`, `${choosers - before} choosers, playing ${pressed}`);
      await op.waitForTimeout(100);
    }
    op.off('filechooser', onChooser);
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
    // Merges and splits are highlighted in place, in the acting process's column, on the step that
    // made them (the steps from the CLI's trace), and split pieces keep their mapping's name.
    const galleryStep = await stepNo(gp);
    const galTrace = vmlab(['run', 'scenarios/vma-gallery.vmlab']);
    const eventSteps = (reason) => [...galTrace.matchAll(new RegExp(`^\\s*(\\d+)\\s+\\d+\\s+(\\S+)\\s.*\\b${reason.replace('.', '\\.')}\\b`, 'gm'))].map((m) => ({ step: Number(m[1]), proc: m[2] }));
    const merges = eventSteps('vma.merged'), splits = eventSteps('vma.split');
    const changedAt = async (at) => {
      await toStep(gp, at.step);
      await gp.waitForTimeout(80);
      return gp.evaluate((name) => {
        const col = document.querySelector(`.proc-col[data-name="${name}"]`);
        return { acting: !!col && col.classList.contains('acting'), mine: col ? col.querySelectorAll('.gvma.changed').length : 0,
          others: [...document.querySelectorAll('.proc-col')].filter((c) => c !== col).reduce((n, c) => n + c.querySelectorAll('.gvma.changed').length, 0),
          names: col ? [...col.querySelectorAll('.gvma .gname')].map((g) => g.textContent) : [] };
      }, at.proc);
    };
    const firstMerge = merges[0], firstSplit = splits[0];
    const m = firstMerge ? await changedAt(firstMerge) : null;
    check(m && m.acting && m.mine >= 1 && m.others === 0, `the merge at step ${firstMerge && firstMerge.step} is highlighted (.gvma.changed) in the acting column ${firstMerge && firstMerge.proc}, and only there`, JSON.stringify({ firstMerge, m }));
    const spl = firstSplit ? await changedAt(firstSplit) : null;
    check(spl && spl.acting && spl.mine >= 1 && spl.others === 0, `the split at step ${firstSplit && firstSplit.step} is highlighted in the acting column ${firstSplit && firstSplit.proc}, and only there`, JSON.stringify({ firstSplit, spl }));
    check(spl && ['big[0..64MiB]', 'big[64MiB..128MiB]', 'big[128MiB..256MiB]'].every((n) => spl.names.includes(n)),
      "the split pieces keep their mapping's name (big[0..64MiB], big[64MiB..128MiB], big[128MiB..256MiB])", JSON.stringify(spl && spl.names));
    await gp.screenshot({ path: path.join(out, 'gallery-split-1280x720.png') });
    await toStep(gp, galleryStep);
    await gp.evaluate(() => window.scrollTo(0, 0));

    // At 1280×720 (and at 150 %) the code, the explanation, every process's picture and the
    // counters are within the viewport, without scrolling; the smallest visible text is 14 px.
    await gp.evaluate(() => window.scrollTo(0, 0));
    const v1 = await inView(gp);
    check(v1.bad.length === 0 && v1.missing.length === 0 && v1.scrolled === 0 && v1.n >= 9 && v1.n >= v1.expected, 'at 1280×720 the code, the explanation, every process and the counters are on one screen', JSON.stringify(v1));
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
    check(v2.bad.length === 0 && v2.missing.length === 0 && v2.scrolled === 0 && v2.n >= v1.n, 'at 150 % zoom (853×480 CSS px, scale 1.5) the picture, code, explanation and counters still fit', JSON.stringify(v2));
    const f2 = await minFont(zp);
    check(f2.min >= 14, 'at 150 % zoom the smallest visible text is at least 14 px', `${f2.min} px at ${f2.where}`);
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
    await tenProcesses(browser, base, out, errors);
    await twoTabs(browser, base, errors);
    await randomButton(browser, base, errors);
    await mainChart(browser, base, out, errors);
    await oneScreenMore(browser, base, out, errors);
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
