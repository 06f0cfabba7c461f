// End-to-end test of the storefront in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core): home, pick a shopper,
// product, cart, recommendations that change, search and help chat when
// the server has them, admin; no console errors.  Screenshots go to OUTDIR.
//   node e2e.mjs URL OUTDIR      (playwright-core resolved from OUTDIR/node_modules)
import { createRequire } from 'node:module';
import path from 'node:path';

const [base, outdir] = process.argv.slice(2);
const require = createRequire(path.resolve(outdir, 'node_modules') + '/');
const { chromium } = require('playwright-core');

let passed = 0;
function check(cond, what) {
  if (!cond) throw new Error('FAILED: ' + what);
  passed++;
  console.log('  ok  ' + what);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const problems = [];
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.type() + ': ' + m.text()); });
  page.on('pageerror', e => problems.push('page error: ' + e.message));
  page.on('response', r => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`); });
  page.on('requestfailed', r => problems.push('request failed: ' + r.url()));
  return page;
}
const keys = (page, row) => page.$$eval(`#${row} .card`, cards => cards.map(c => c.dataset.key));
const shot = (page, name) => page.screenshot({ path: path.join(outdir, name + '.png'), fullPage: true });

try {
  const stats = await (await fetch(base + 'api/stats')).json();
  const page = await newPage();

  // A guest first: no personal row yet, trending is there.
  await page.goto(base);
  check((await page.title()).includes('aisle shop'), 'home page loads');
  check((await keys(page, 'trending')).length >= 4, 'home shows trending products');
  check(await page.locator('#recommended .empty').count() === 1, 'a new guest has no personal picks yet');
  check(await page.locator('#q').count() === (stats.search ? 1 : 0), 'search box present exactly when the library has search');
  check(await page.locator('a[href="/help"]').count() === (stats.chat ? 1 : 0), 'help link present exactly when the library has intents');
  await shot(page, 'home-guest');

  // The guest views a product and adds it to the cart: the session folds in.
  await page.locator('#trending .card').nth(2).click();
  await page.locator('#add-to-cart').click();
  await page.waitForURL(/\/cart$/);
  await page.goto(base);
  check((await keys(page, 'recommended')).length > 0, "a guest's cart fills 'Recommended for you' (session fold-in)");

  // Pick a shopper.
  const shopper = await page.locator('#user option').nth(1).getAttribute('value');
  await page.selectOption('#user', shopper);
  await Promise.all([page.waitForURL(base), page.locator('#switch').click()]);
  check((await page.locator('.who').innerText()).includes(shopper), `signed in as ${shopper}`);
  const before = await keys(page, 'recommended');
  check(before.length >= 4, `'Recommended for you' lists ${before.length} products for ${shopper}`);
  check((await page.locator('#recommended .why').first().innerText()).length > 10, 'each card says why');
  await shot(page, 'home');

  // A product the shopper has not been shown: details, neighbours, fit.
  const trending = await keys(page, 'trending');
  const pick = trending.find(k => !before.includes(k)) || trending[0];
  await page.goto(base + 'product/' + encodeURIComponent(pick));
  check((await page.locator('h1').innerText()).length > 0, `product page of ${pick}`);
  check((await keys(page, 'similar')).length > 0, "product page shows 'Similar items'");
  check((await keys(page, 'also-bought')).length > 0, "product page shows 'Customers also bought'");
  check(/for you/i.test(await page.locator('#fit').innerText()) || /usual/.test(await page.locator('#fit').innerText()),
        'product page says how well it fits the shopper');
  await shot(page, 'product');

  // Add it (and a neighbour) to the cart: the model updates the shopper.
  await page.locator('#add-to-cart').click();
  await page.waitForURL(/\/cart$/);
  const neighbour = (await keys(page, 'recommended'))[0];
  if (neighbour) {
    await page.goto(base + 'product/' + encodeURIComponent(neighbour));
    await page.locator('#add-to-cart').click();
    await page.waitForURL(/\/cart$/);
  }
  check(await page.locator('table.cart tr').count() >= 3, 'the cart lists the added products');
  check((await page.locator('#cart-link .count').innerText()) !== '0', 'the header counts the cart');
  await shot(page, 'cart');
  await page.goto(base);
  const after = await keys(page, 'recommended');
  check(JSON.stringify(after) !== JSON.stringify(before),
        `'Recommended for you' changed after the cart: [${before.slice(0, 4)}...] -> [${after.slice(0, 4)}...]`);

  if (stats.search) {
    // the last word of a product name ("... Running Shoes"), then its first letters for autocomplete
    const titles = await page.locator('#trending .card .title').allInnerTexts();
    const words = titles.map(t => t.replace(/\.\.\.$/, '').split(/\s+/)).find(w => w.length >= 4 && w.every(x => /^[A-Za-z&]+$/.test(x)));
    const word = words ? words[words.length - 1] : 'shoes';
    await page.locator('#q').pressSequentially(word.slice(0, 3).toLowerCase(), { delay: 60 });
    await page.waitForFunction(() => document.querySelectorAll('#suggestions option').length > 0, null, { timeout: 5000 });
    check(true, `autocomplete offers completions for '${word.slice(0, 3).toLowerCase()}'`);
    await page.locator('#q').fill(word);
    await Promise.all([page.waitForURL(/\/search\?/), page.locator('#q').press('Enter')]);
    check((await keys(page, 'results')).length > 0, `search for '${word}' finds products`);
    await shot(page, 'search');
    const xss = '<img src=x onerror=alert(1)>"\'&';
    await page.goto(base + 'search?q=' + encodeURIComponent(xss));
    check((await page.locator('h1').innerText()).includes(xss) && await page.locator('main img').count() === 0,
          'the search page shows markup in the query as text');
  }
  if (stats.chat) {
    await page.goto(base + 'help');
    await page.locator('#ask').fill('Where is my order 12345? It has been a week.');
    await Promise.all([page.waitForURL(/\/help\?/), page.locator('#ask').press('Enter')]);
    const intent = await page.locator('.intent').first().innerText();
    check(/order_status/.test(intent), `help chat detects the intent: ${intent}`);
    await shot(page, 'help');
    const xss = '<img src=x onerror=alert(1)> where is my order?';
    await page.goto(base + 'help?q=' + encodeURIComponent(xss));
    check((await page.locator('.bubble.me').innerText()) === xss && await page.locator('main img').count() === 0,
          'the help chat shows markup in the question as text');
  }

  await page.goto(base + 'admin');
  check(await page.locator('#models tr').count() >= 3, 'admin lists the models with their metrics');
  check(/\d/.test(await page.locator('#requests').innerText()), 'admin shows request counts and latency');
  await shot(page, 'admin');

  check(problems.length === 0, 'no console errors, page errors or failed requests' + (problems.length ? ': ' + problems.join('; ') : ''));
  const missing = await page.goto(base + 'product/NO-SUCH-ITEM');
  check(missing.status() === 404 && (await page.locator('h1').innerText()) === 'Not found', 'an unknown product gets a 404 page');
} finally {
  await browser.close();
}
console.log(`e2e: ${passed} passed, 0 failed`);
