/**
 * Debian's Chromium, headless, driven by playwright-core (which drives an installed browser and
 * downloads none), for the tests that need a real browser.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** CHROMIUM_PATH, when set, must work (.ci/run sets it); otherwise Debian's, if installed. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * A test's `skip`: the reason when there is no Chromium. The skip is the test's, not the suite's:
 * the runner counts skipped tests, not skipped suites.
 */
export const noChromium = process.env.CHROMIUM_PATH === undefined && !existsSync(CHROMIUM)
  && 'no Chromium at /usr/bin/chromium: install Debian\'s chromium (.ci/run does) or name one in CHROMIUM_PATH';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Without these Chromium calls home at start, and this machine's closed network refuses it.
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}
