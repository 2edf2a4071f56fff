// Time from navigation to the kiosk's first screen, and to a hydrated /kiosk
// page, in Debian's Chromium at tablet size with a cold cache each time (a new
// browser context): on loopback, and with the network throttled to DevTools'
// "Fast 3G" (562.5 ms round trip, 1.44 Mbit/s down, 675 kbit/s up). Usage:
//   node kiosk-load.mjs BASE_URL [RUNS]
import { chromium } from "@playwright/test";

const base = process.argv[2] ?? "http://127.0.0.1:3300";
const runs = Number(process.argv[3] ?? 7);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const FAST_3G = { offline: false, latency: 562.5, downloadThroughput: 180_000, uploadThroughput: 84_375 };

async function measure(throttle) {
  const painted = [];
  const ready = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    const page = await context.newPage();
    if (throttle) {
      const cdp = await context.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", throttle);
    }
    const started = Date.now();
    // The first screen as the server sent it: no script needed to show it.
    await page.goto(`${base}/kiosk`, { waitUntil: "commit" });
    await page.waitForSelector(".kiosk-screen:not([data-step=loading])", { timeout: 60_000 });
    painted.push(Date.now() - started);
    await page.waitForSelector("html[data-hydrated=true]", { state: "attached", timeout: 120_000 });
    ready.push(Date.now() - started);
    await context.close();
  }
  const median = (list) => list.sort((a, b) => a - b)[Math.floor(runs / 2)];
  return `first screen median ${median(painted)} ms (max ${painted[runs - 1]}), interactive median ${median(ready)} ms (max ${ready[runs - 1]})`;
}

console.log(`kiosk, cold cache, ${runs} runs, loopback: ${await measure(null)}`);
console.log(`kiosk, cold cache, ${runs} runs, Fast 3G:  ${await measure(FAST_3G)}`);
await browser.close();
