// What each page makes a browser download before it is interactive (the WASM
// has hydrated it), as a tablet on plain http receives it: a new browser
// context (cold cache) asking for `gzip, deflate` only. Bytes are the bodies
// as sent over the wire plus the response headers. Usage:
//   node page-weight.mjs BASE_URL SESSION_COOKIE [PATH …]
import { chromium } from "@playwright/test";

const base = process.argv[2] ?? "http://127.0.0.1:3300";
const session = process.argv[3] ?? "";
const paths = process.argv.length > 4 ? process.argv.slice(4) : ["/login", "/kiosk", "/", "/clients", "/stats", "/potential", "/settings"];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const kb = (bytes) => (bytes / 1000).toFixed(1).padStart(7);
console.log("page                     total KB   wasm KB    js KB   css KB  html/data KB  requests");
for (const path of paths) {
  const context = await browser.newContext({
    viewport: { width: 1024, height: 768 },
    extraHTTPHeaders: { "Accept-Encoding": "gzip, deflate" },
  });
  if (session && path !== "/login" && path !== "/kiosk") {
    await context.addCookies([{ name: "avtosalon_session", value: session, url: base }]);
  }
  const page = await context.newPage();
  const finished = [];
  page.on("requestfinished", (request) => finished.push(request));
  await page.goto(`${base}${path}`);
  await page.waitForSelector("html[data-hydrated=true]", { state: "attached", timeout: 60_000 });
  const by = { wasm: 0, js: 0, css: 0, other: 0 };
  for (const request of finished) {
    const sizes = await request.sizes();
    const bytes = sizes.responseBodySize + sizes.responseHeadersSize;
    const name = new URL(request.url()).pathname;
    const kind = name.endsWith(".wasm") ? "wasm" : name.endsWith(".js") ? "js" : name.endsWith(".css") ? "css" : "other";
    by[kind] += bytes;
  }
  const total = by.wasm + by.js + by.css + by.other;
  console.log(
    `${path.padEnd(24)} ${kb(total)}   ${kb(by.wasm)}  ${kb(by.js)}  ${kb(by.css)}       ${kb(by.other)}  ${String(finished.length).padStart(8)}`,
  );
  await context.close();
}
await browser.close();
