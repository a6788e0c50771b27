/**
 * Chromium for browser tests: Debian's `chromium` driven by playwright-core. Outside CI a
 * missing Chromium skips the tests (saying so); in CI it fails them.
 */
import { type Browser, chromium } from "playwright-core";

const CANDIDATES = [
  Deno.env.get("CHROMIUM_PATH"),
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
];

/** The Chromium binary, or undefined. */
export const CHROMIUM = CANDIDATES.find((path) => {
  if (!path) return false;
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

const inCi = Boolean(Deno.env.get("CI"));

/** Whether browser tests are skipped here (and why is printed once). */
export const skipBrowser = !CHROMIUM && !inCi;
if (skipBrowser) {
  console.warn(
    "Browser tests skipped: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH).",
  );
}

/** Launches headless Chromium with the flags this machine needs. */
export function launch(): Promise<Browser> {
  if (!CHROMIUM) throw new Error("Chromium is required in CI: .ci/run installs Debian's chromium");
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Where the tests write screenshots (named in the README). */
export const SCREENSHOTS = new URL("../../test-results/screenshots/", import.meta.url).pathname;
