/**
 * The viewer in a real browser (Debian's chromium through playwright-core) against a real run directory: a short GRPO
 * run of the trainer's tiny search task and two evaluations. Checks: no console errors, one point per step on every
 * curve, trajectories render their tags, the live view picks up a step trained while the page is open, the eval
 * drill-down and its wrong-answer filter. Leaves test-artifacts/viewer.png.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { makeRun, replicateRun, type LiveRun } from "./testing/make-run.js";
import { startViewer, type Viewer } from "./server.js";
import { METRICS, REFLECTION_METRICS } from "./charts.js";

// Page-side conditions are strings: this project compiles without the DOM library.

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`viewer browser tests skipped: ${CHROMIUM} not found (apt-get install chromium)`);

describe.skipIf(!hasChromium)("research view in chromium", () => {
  let root: string;
  let live: LiveRun;
  let viewer: Viewer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "viewer-e2e-"));
    live = await makeRun(join(root, "demo"), 2);
    viewer = await startViewer({ dirs: [join(root, "demo")], port: 0 });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
    await page.goto(viewer.url + "?poll=250");
    await page.waitForSelector("body[data-ready='1']");
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await viewer?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const pointsPerChart = () =>
    page.$$eval(".chart", (cs) => cs.map((c) => [c.getAttribute("data-key"), c.querySelectorAll('[aria-roledescription="point"]').length] as [string, number]));

  it("loads with no console errors and one point per step on every curve", async () => {
    const charts = await pointsPerChart();
    expect(charts.slice(0, METRICS.length).map(([k]) => k)).toEqual(METRICS.map((m) => m.key));
    // then the reflection metrics the run logged (a step whose share had no denominator is no point)
    expect(charts.slice(METRICS.length).every(([k]) => REFLECTION_METRICS.some((m) => m.key === k))).toBe(true);
    for (const [, n] of charts.slice(0, METRICS.length)) expect(n).toBe(2);
    expect(errors).toEqual([]);
  });

  it("renders a GRPO group side by side with rewards and coloured tags; results collapse", async () => {
    await page.click("button[data-tab=trajectories]");
    await page.selectOption("select[name=step]", "all");
    await page.fill("input[name=minSearches]", "1");
    await page.click("#traj-filters button[type=submit]");
    await page.waitForSelector(".group .rollout:not(.dim) details.seg-tool");
    const g = page.locator(".group").first();
    expect(await g.locator(".rollout").count()).toBe(3);
    expect(await g.locator(".reward").first().textContent()).toMatch(/^reward \d/);
    const card = page.locator(".rollout:not(.dim)", { has: page.locator("details.seg-tool") }).first();
    for (const tag of ["think", "search", "result", "answer"]) expect(await card.locator(`.tag-${tag}`).count()).toBeGreaterThan(0);
    expect(await card.locator(".seg.mask-no").count()).toBeGreaterThan(0);
    expect(await card.locator(".seg.mask-yes").count()).toBeGreaterThan(0);
    const details = card.locator("details.seg-tool").first();
    expect(await details.getAttribute("open")).toBeNull();
    await details.locator("summary").click();
    expect(await details.getAttribute("open")).not.toBeNull();
    const question = (await g.locator("h3").textContent())!.replace(/^step \d+ · /, "").replace(/ gold: .*$/, "");
    await g.locator(".question-link").click();
    await page.waitForFunction(`document.querySelector("#traj-pager")?.textContent?.includes(${JSON.stringify(`question "${question}"`)})`);
    const shown = await page.$$eval(".group h3", (hs) => hs.map((h) => h.textContent ?? ""));
    expect(shown.length).toBeGreaterThan(0);
    for (const h of shown) expect(h).toContain(`· ${question} gold:`);
    await page.fill("input[name=minSearches]", "1");
    await page.click("#traj-filters button[type=submit]");
    await page.waitForSelector(".group .rollout:not(.dim) details.seg-tool");
    mkdirSync("test-artifacts", { recursive: true });
    await page.screenshot({ path: "test-artifacts/viewer.png" });
    expect(errors).toEqual([]);
  });

  it("picks up a step trained while the page is open", async () => {
    await page.click("button[data-tab=training]");
    await live.train(1);
    // every METRICS curve gains the step (a reflection share may be null at a step: no point there)
    const keys = JSON.stringify(METRICS.map((m) => m.key));
    await page.waitForFunction(`[...document.querySelectorAll(".chart")].filter((c) => ${keys}.includes(c.getAttribute("data-key"))).every((c) => c.querySelectorAll('[aria-roledescription="point"]').length === 3)`, null, { timeout: 20_000 });
    expect((await pointsPerChart()).filter(([k]) => METRICS.some((m) => m.key === k)).every(([, n]) => n === 3)).toBe(true);
    await page.screenshot({ path: "test-artifacts/viewer-curves.png", fullPage: true });
    await page.click("button[data-tab=trajectories]");
    await page.waitForSelector("select[name=step] option[value='3']", { state: "attached" });
    expect(errors).toEqual([]);
  });

  it("drills from the eval table to an item's trajectory; filters wrong answers", async () => {
    await page.click("button[data-tab=evaluation]");
    await page.click("td.cell[data-run='demo/eval/base-tiny-a']");
    await page.waitForSelector("tr.item");
    expect(await page.locator("tr.item").count()).toBe(8);
    const wrong = await page.locator("tr.item.wrong").count();
    await page.check("input[name=wrong]");
    await page.waitForFunction(`document.querySelectorAll("tr.item").length === ${wrong} && !document.querySelector("tr.item.right")`);
    await page.uncheck("input[name=wrong]");
    await page.waitForFunction(`document.querySelectorAll("tr.item").length === 8`);
    await page.locator("tr.item").first().click();
    await page.waitForSelector("#eval-item .response .tag-answer");
    expect(errors).toEqual([]);
  });

  it("pages a run of 10,000 trajectories without freezing", async () => {
    const dir = join(root, "big");
    replicateRun(join(root, "demo", "train"), dir, { steps: 100, perStep: 100 });
    const big = await startViewer({ dirs: [dir], port: 0 });
    try {
      const p = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      p.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      p.on("pageerror", (e) => errors.push(String(e)));
      const t0 = Date.now();
      await p.goto(big.url);
      await p.waitForSelector("body[data-ready='1']");
      expect(await p.locator(".chart").first().locator('[aria-roledescription="point"]').count()).toBe(100);
      await p.click("button[data-tab=trajectories]");
      await p.selectOption("select[name=step]", "all");
      await p.waitForFunction(`document.querySelector("#traj-pager")?.textContent?.includes("10000 of 10000 rollouts")`);
      expect(await p.locator(".group").count()).toBe(10);
      await p.click("#traj-pager button:has-text('next')");
      await p.waitForFunction(`document.querySelector("#traj-pager")?.textContent?.startsWith("‹ prevpage 2 of")`);
      expect(await p.locator(".group").count()).toBe(10);
      expect(Date.now() - t0).toBeLessThan(30_000);
      await p.close();
    } finally {
      await big.close();
    }
    expect(errors).toEqual([]);
  });
});
