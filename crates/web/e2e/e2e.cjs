// The end-to-end test: the built site (dist/) in real headless Chromium. It opens the
// fork-after-merge scenario, steps to the fork and reads the ENOMEM explanation, steps back, edits
// the scenario to add `noreserve` and sees the fork succeed, reloads through the share URL and gets
// the same state, checks that a damaged link shows a message and the library, and saves a
// screenshot under target/e2e/.
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
    await page.keyboard.press('ArrowRight');
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

    check(errors.length === 0, 'no uncaught page errors', errors.join('; '));
    console.log(`screenshots: ${out}`);
  } finally {
    await browser.close();
    server.close();
  }
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})().catch((e) => { console.error(`e2e: error: ${e.stack || e}`); process.exit(1); });
