// The browser add-on in Debian's Chromium, headless (playwright-core drives the
// browser the system has; it downloads none). Loads browser-extension/ unpacked, opens
// PAGE, and prints one JSON object: the tel: links the content script made, the tel:
// navigation a click on the first one asked for, what "Call ..." makes of a selection,
// and whether the context menu item exists.
//
//   node extension.mjs --extension DIR --page URL --profile DIR [--handler-log FILE]
//
// With --handler-log, the browser is kept open until FILE (written by the desktop's
// handler the browser runs for tel:) exists, at most 10 s: the launch is asynchronous.
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

const arg = (name) => process.argv[process.argv.indexOf(`--${name}`) + 1];
const extension = arg("extension");
const context = await chromium.launchPersistentContext(arg("profile"), {
  executablePath: "/usr/bin/chromium",
  headless: true,
  // Playwright disables extensions unless told which to keep; the other flags keep a
  // closed network quiet (no update, sync or background fetches).
  args: [
    `--disable-extensions-except=${extension}`,
    `--load-extension=${extension}`,
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
try {
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker", { timeout: 15000 }));
  const page = await context.newPage();
  await page.goto(arg("page"));
  await page.waitForSelector("a.ucdesk-tel", { timeout: 10000 });
  // Pages that draw later get their numbers linked too, and again after that: the
  // first late number's own links must not stop the watching.
  const addLater = async (id, text) => {
    await page.evaluate(([id, text]) => {
      const p = document.createElement("p");
      p.id = id;
      p.textContent = text;
      document.body.appendChild(p);
    }, [id, text]);
    await page.waitForSelector(`#${id} a.ucdesk-tel`, { timeout: 5000 });
  };
  await addLater("late", "Added later: +44 20 7946 0958");
  await addLater("later", "Added later still: +1 415 555 0134");
  const links = await page.$$eval("a.ucdesk-tel", (as) => as.map((a) => ({ text: a.textContent, href: a.getAttribute("href") })));
  const untouched = await page.$$eval("#untouched a.ucdesk-tel, textarea a, code a.ucdesk-tel", (as) => as.length);
  // A click asks the browser to open the tel: URL (it goes to the desktop's handler).
  const opened = new Promise((resolve) =>
    page.on("request", (r) => r.url().startsWith("tel:") && resolve(r.url())),
  );
  await page.click("a.ucdesk-tel");
  const clicked = await Promise.race([opened, new Promise((r) => setTimeout(() => r(null), 5000))]);
  const log = process.argv.includes("--handler-log") ? arg("handler-log") : null;
  for (let waited = 0; log && !existsSync(log) && waited < 10000; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
  }
  // The context menu's item exists (a second one with its id is refused), and its
  // handler turns a selection into the URL it opens.
  const menu = await worker.evaluate(
    () => new Promise((r) => chrome.contextMenus.create({ id: "ucdesk-call", title: "x", contexts: ["selection"] }, () => r(chrome.runtime.lastError?.message ?? "created"))),
  );
  const selections = await worker.evaluate(() => ["Call +1 (212) 555-0100 now", "2026-12-08", "ext. 12"].map((s) => callUrl(s.replace(/^Call | now$/g, ""))));
  console.log(JSON.stringify({ links, untouched, clicked, menu, selections }));
} finally {
  await context.close();
}
