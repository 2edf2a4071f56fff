import { defineConfig } from "@playwright/test";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./chromium";

// The installed site over HTTPS (scripts/site-test.sh): a tablet that trusts the
// local certificate authority through its NSS database ($HOME/.pki/nssdb), reaching
// the server by a LAN name, with a real face video as its camera. Certificate
// errors are never ignored: an untrusted certificate fails the test.
export default defineConfig({
  testDir: "./site",
  timeout: 120_000,
  globalTimeout: 10 * 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results-site",
  use: {
    baseURL: process.env.E2E_SITE_URL,
    ignoreHTTPSErrors: false,
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: [
        ...CHROMIUM_ARGS,
        // The showroom's name for the server, as the Wi-Fi's DNS would answer.
        "--host-resolver-rules=MAP avtosalon.test 127.0.0.1",
        // The tablet's camera plays a real face.
        `--use-file-for-fake-video-capture=${process.env.E2E_FAKE_VIDEO}`,
      ],
    },
  },
});
