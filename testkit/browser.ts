import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

// Debian's Chromium driven by playwright-core: never a downloaded browser (CI installs the
// `chromium` package with apt). Missing, it fails the test loudly rather than skipping it.

export const CHROMIUM = '/usr/bin/chromium';

/** What tests read of an <img> (the project compiles without the DOM library). */
export interface Img {
  readonly src: string;
  readonly naturalWidth: number;
  readonly complete: boolean;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

/**
 * A page that records every request it makes and refuses any that is not file://, so a test can
 * assert that nothing left the machine.
 */
export async function offlinePage(browser: Browser): Promise<{ page: Page; requests: string[]; blocked: string[]; consoleErrors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const requests: string[] = [];
  const blocked: string[] = [];
  const consoleErrors: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file://')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  return { page, requests, blocked, consoleErrors };
}

/** Scrolls every lazy image into view, then waits until all have loaded (or failed). */
export async function loadEveryImage(page: Page): Promise<void> {
  const cards = await page.locator('#cards > article:not([hidden])').all();
  for (const card of cards) await card.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => {
    const images = (globalThis as unknown as { document: { images: ArrayLike<Img> } }).document.images;
    return Array.from(images).every((image) => image.complete);
  });
}
