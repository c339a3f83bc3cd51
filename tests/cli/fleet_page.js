// The fleet page in headless Chromium (Debian's, driven by playwright-core
// from tests/node): tests/cli/fleet_page.sh starts tld and makes a failed
// node, this script clicks through the page as a reader would and prints
// what it saw as one JSON object (the shell compares it with the API's
// JSON), with a screenshot of each view in SHOTS.
//
// node fleet_page.js NPM_DIR URL READER_TOKEN SHOTS
'use strict';
const [npmDir, url, reader, shots] = process.argv.slice(2);
const {chromium} = require(npmDir + '/node_modules/playwright-core');

async function main() {
  const browser = await chromium.launch({executablePath: '/usr/bin/chromium', args: ['--no-sandbox']});
  const out = {console: []};
  try {
    const watch = (page) => page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) out.console.push(m.text());
    });

    // 1. the fleet, the token in the fragment
    let ctx = await browser.newContext({viewport: {width: 1400, height: 900}});
    let page = await ctx.newPage();
    watch(page);
    await page.goto(url + '/ui/#token=' + reader);
    await page.waitForSelector('#nodes tbody tr');
    out.address = page.url();
    out.nodes = await page.$$eval('#nodes tbody tr', (rows) => rows.map((r) =>
      [r.dataset.node, r.querySelector('[data-verdict]').dataset.verdict, r.cells[2].textContent]));
    out.alerts = await page.$$eval('#alerts tbody tr', (rows) => rows.map((r) =>
      [r.cells[1].textContent, r.cells[3].textContent]));
    out.pools = await page.$$eval('#pools tbody tr', (rows) => rows.map((r) =>
      [r.cells[0].textContent, r.cells[1].textContent, r.cells[2].textContent, r.cells[3].textContent.trim()]));
    await page.screenshot({path: shots + '/1-fleet.png', fullPage: true});

    // 2. the failed node: its row's link
    const failed = page.locator('#nodes tbody tr', {has: page.locator('[data-verdict="fail"]')}).first();
    out.failed = await failed.getAttribute('data-node');
    await failed.locator('td').first().locator('a').click();
    await page.waitForSelector('#timeline');
    out.node = await page.textContent('#node-name');
    out.timeline = await page.$$eval('#timeline tbody tr', (rows) => rows.map((r) =>
      [r.querySelector('[data-verdict]').dataset.verdict, r.cells[3].textContent]));
    await page.screenshot({path: shots + '/2-node.png', fullPage: true});

    // 3. its alert
    await page.locator('#node-alerts tbody tr a').first().click();
    await page.waitForSelector('#findings');
    out.alert = await page.textContent('#alert-id');
    out.findings = await page.$$eval('#findings tbody tr', (rows) => rows.map((r) => ({
      component: r.querySelector('.component').textContent,
      expected: r.querySelector('.expected').textContent,
      actual: r.querySelector('.actual').textContent})));
    await page.screenshot({path: shots + '/3-alert.png', fullPage: true});
    await ctx.close();

    // 4. a wrong token: an authentication error, no data
    for (const [name, token] of [['wrong', 'f'.repeat(64)], ['none', null]]) {
      ctx = await browser.newContext({viewport: {width: 1000, height: 600}});
      page = await ctx.newPage();
      watch(page);
      await page.goto(url + '/ui/' + (token ? '#token=' + token : ''));
      await page.waitForSelector('#login:not([hidden])');
      out[name] = {
        error: await page.$eval('#error', (e) => (e.hidden ? '' : e.textContent)),
        rows: await page.$$eval('main tr', (r) => r.length),
        failedShown: (await page.content()).includes(out.failed),
      };
      await page.screenshot({path: shots + '/4-token-' + name + '.png'});
      if (!token) { // the form: the reader's token typed in
        await page.fill('#token', reader);
        await page.click('#login button');
        await page.waitForSelector('#nodes tbody tr');
        out.none.afterLogin = await page.$$eval('#nodes tbody tr', (r) => r.length);
      }
      await ctx.close();
    }
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
