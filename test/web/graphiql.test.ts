/**
 * GraphiQL as a person meets it, offline: a real browser opens /graphql, whose every request outside
 * the server is refused, finds Spantree's starter query with the key of its login link (or the one
 * the browser keeps for the web UI) in place, never in the page (its lines within the editor's width), runs it and sees the server's data. The page and its files come from the server (the GraphiQL bundled in
 * @graphql-yoga/render-graphiql), under a policy that lets it load and run nothing from elsewhere.
 */
import { describe, expect, it } from 'vitest';
import { loginPath, openPage, useBrowser } from '../helpers/browser.js';
import { CREATE_SPAN, uid } from '../helpers/operations.js';
import { originOf, TEST_API_KEY, useTestServer } from '../helpers/server.js';

const server = useTestServer();
const browser = useBrowser();

/** What a browser sends for a page. */
const PAGE_REQUEST = { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } };

/** Monaco draws spaces as no-break spaces; compare text as typed. */
const plain = (text: string) => text.replace(/\u00a0/g, ' ');

describe('GraphiQL', () => {
  it('opened with a login link: the key fills the headers pane, leaves the address bar and is kept; the query runs, asking nothing of the internet', async () => {
    const traceName = uid('graphiql-trace');
    await server().gql(CREATE_SPAN, { input: { name: traceName } });

    const { page, context, outside, errors } = await openPage(browser(), originOf(server().url));
    try {
      // page.goto sends a browser's own Accept header (text/html first), as a person's browser does.
      const response = await page.goto(loginPath(server().url));
      expect(response?.status()).toBe(200);
      expect(await response!.text()).not.toContain(TEST_API_KEY);

      const editor = page.locator('.graphiql-query-editor');
      await expect.poll(async () => plain(await editor.innerText()), { timeout: 30_000 }).toContain('query RecentTraces {');
      expect(plain(await editor.innerText())).toContain('# Welcome to Spantree.');
      // The headers pane holds the link's key; the address bar does not.
      await page.getByText('Headers', { exact: true }).click();
      await expect.poll(async () => plain(await page.locator('.graphiql-editor-tool').innerText())).toContain(`"Authorization": "Bearer ${TEST_API_KEY}"`);
      expect(page.url()).toBe(server().url);

      await page.locator('.graphiql-execute-button').click();
      const result = page.locator('.graphiql-response');
      await expect.poll(async () => plain(await result.innerText()), { timeout: 30_000 }).toContain(`"name": "${traceName}"`);
      // The run was authorized by the prefilled header, not refused.
      expect(plain(await result.innerText())).not.toContain('UNAUTHENTICATED');

      // Kept where the web UI keeps it.
      expect(await page.evaluate(() => localStorage.getItem('spantree.apiKey'))).toBe(TEST_API_KEY);

      expect(outside).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('opened without a link, fills the headers pane with the key the web UI keeps in this browser; with none, a placeholder', async () => {
    for (const kept of [TEST_API_KEY, undefined]) {
      const { page, context, outside, errors } = await openPage(browser(), originOf(server().url));
      try {
        if (kept) await context.addInitScript((key) => localStorage.setItem('spantree.apiKey', key), kept);
        await page.goto(server().url);
        await expect.poll(async () => plain(await page.locator('.graphiql-query-editor').innerText()), { timeout: 30_000 }).toContain('query RecentTraces {');
        await page.getByText('Headers', { exact: true }).click();
        await expect
          .poll(async () => plain(await page.locator('.graphiql-editor-tool').innerText()))
          .toContain(`"Authorization": "Bearer ${kept ?? '<your API key>'}"`);
        expect(outside).toEqual([]);
        // Without a key, the schema is not GraphiQL's to read: its introspection is refused (401).
        expect(errors.filter((error) => !(kept === undefined && /401/.test(error)))).toEqual([]);
      } finally {
        await context.close();
      }
    }
  });

  it('the starter query fits the editor: at 1280 px wide, no line runs past its right edge', async () => {
    const { page, context, outside } = await openPage(browser(), originOf(server().url));
    try {
      // Tall enough that the editor draws every line (it draws only those in view).
      await page.setViewportSize({ width: 1280, height: 1400 });
      await page.goto(server().url);
      const editor = page.locator('.graphiql-query-editor');
      await expect.poll(async () => plain(await editor.innerText()), { timeout: 30_000 }).toContain('query RecentTraces {');
      const layout = await page.evaluate(() => {
        const visible = document.querySelector('.graphiql-query-editor .monaco-scrollable-element')!.getBoundingClientRect();
        const options = JSON.parse(document.getElementById('graphiql-options')!.textContent!) as { defaultQuery: string };
        const lines = [...document.querySelectorAll('.graphiql-query-editor .view-line')].map((line) => ({
          text: line.textContent!.replace(/\u00a0/g, ' '),
          right: (line.firstElementChild as HTMLElement).getBoundingClientRect().right,
        }));
        return { edge: visible.right, lineCount: options.defaultQuery.split('\n').length, lines };
      });
      expect(layout.lines.length).toBeGreaterThanOrEqual(layout.lineCount);
      expect(layout.lines.filter((line) => line.right > layout.edge).map((line) => line.text)).toEqual([]);
      // The welcome comment is all there, wrapped.
      const text = plain(await editor.innerText());
      for (const part of ['documents every type and field.', 'hasSpan: { type: [TOOL], hasError: true }', 'name children { name durationMs }', 'traceSpans(traceId: "...", replay: true) {']) {
        expect(text, part).toContain(part);
      }
      expect(outside).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('subscribes over SSE: a span written after the subscription started shows up in the result pane', async () => {
    const root = (await server().gql(CREATE_SPAN, { input: { name: uid('graphiql-live-root') } })).createSpan;
    const { page, context, outside, errors } = await openPage(browser(), originOf(server().url));
    try {
      await page.goto(loginPath(server().url));
      const editor = page.locator('.graphiql-query-editor');
      await expect.poll(async () => plain(await editor.innerText()), { timeout: 30_000 }).toContain('query RecentTraces {');
      // Replace the starter query; insertText types as a paste does, without Monaco closing brackets.
      await editor.locator('.view-line').first().click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.insertText(`subscription Live { traceSpans(traceId: "${root.traceId}", replay: true) { op replayed span { name } } }`);
      // GraphiQL reads the operation's name from the editor a moment later; the tab shows it then.
      await expect.poll(async () => page.locator('.graphiql-tab').first().innerText(), { timeout: 30_000 }).toContain('Live');
      await page.keyboard.press('ControlOrMeta+Enter');

      const result = page.locator('.graphiql-response');
      // The replayed root proves the subscription is open before the next span is written.
      await expect.poll(async () => plain(await result.innerText()), { timeout: 30_000 }).toContain(`"name": "${root.name}"`);
      const childName = uid('graphiql-live-child');
      await server().gql(CREATE_SPAN, { input: { parentId: root.id, name: childName } });
      await expect.poll(async () => plain(await result.innerText()), { timeout: 30_000 }).toContain(`"name": "${childName}"`);
      expect(plain(await result.innerText())).toContain('"replayed": false');

      expect(outside).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('is a page that names no other host, with a policy allowing only this server, and files cached for good', async () => {
    const origin = originOf(server().url);
    const response = await fetch(server().url, PAGE_REQUEST);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();

    const hosts = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map(([url]) => url).filter((url) => !url.startsWith(origin));
    expect(hosts).toEqual([]);

    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'self'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toMatch(/script-src[^;]*(unsafe-inline|unsafe-eval|https?:|\*)/);
    expect(policy).not.toMatch(/https?:|\*/);
    // The page names the current files: no cache keeps it.
    expect(response.headers.get('cache-control')).toBe('no-store');

    // The page opens on Spantree's query, subscribing over SSE; it carries no key, only a placeholder.
    const options = JSON.parse(/<script type="application\/json" id="graphiql-options">(.*?)<\/script>/s.exec(html)![1]!);
    expect(options.defaultQuery).toContain('query RecentTraces');
    expect(options.subscriptionsProtocol).toBe('SSE');
    expect(JSON.parse(options.headers)).toEqual({ Authorization: 'Bearer <your API key>' });
    expect(html).not.toContain(TEST_API_KEY);

    const files = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map(([, path]) => path!);
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const path of files) {
      expect(path).toMatch(/^\/graphiql-assets\/[0-9a-f]{16}\//);
      const file = await fetch(`${origin}${path}`);
      expect(file.status, path).toBe(200);
      expect(file.headers.get('cache-control'), path).toBe('public, max-age=31536000, immutable');
      expect(file.headers.get('content-type'), path).toMatch(path.endsWith('.js') ? /^text\/javascript/ : path.endsWith('.css') ? /^text\/css/ : /^image\//);
      expect((await file.arrayBuffer()).byteLength, path).toBeGreaterThan(100);
    }

    const missing = await fetch(`${origin}/graphiql-assets/0000000000000000/graphiql.js`);
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
  });
});
