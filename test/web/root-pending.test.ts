/**
 * A run whose root span has not arrived (exporters without pending spans send the steps as they end,
 * the root last) looks unfinished in the browser: its explorer row is blue, running, "(waiting for
 * the root span)", and its page says it waits for the root; once the root comes, both say it ended.
 */
import { describe, expect, it } from 'vitest';
import { usePages, useBrowser } from '../helpers/browser.js';
import { at, CREATE_SPAN, uid } from '../helpers/operations.js';
import { originOf, useTestServer } from '../helpers/server.js';

const server = useTestServer();
const browser = useBrowser();
const WAIT = { timeout: 30_000 };
const open = usePages(browser, () => originOf(server().url));

describe('a trace whose root span has not arrived', () => {
  it('is running and waiting for its root, in the explorer and on its page, until the root arrives', async () => {
    const traceId = uid('rootless');
    const rootId = `${traceId}-root`;
    // Its steps, all ended, before their root.
    for (const [n, start] of [[1, 100], [2, 600]] as const) {
      await server().gql(CREATE_SPAN, { input: { id: `${traceId}-step-${n}`, traceId, parentId: rootId, name: `step ${n}`, startTime: at(start), endTime: at(start + 400) } });
    }

    const explorer = await open(`/?q=`);
    const row = explorer.page.locator(`[data-trace-id="${traceId}"]`);
    await row.waitFor(WAIT);
    expect(await row.getAttribute('data-status')).toBe('RUNNING');
    expect(await row.locator('[data-status]').first().getAttribute('data-status')).toBe('running');
    expect(await row.innerText()).toContain('(waiting for the root span)');

    const trace = await open(`/traces/${traceId}`);
    await trace.page.getByTestId('trace-status').filter({ hasText: 'waiting for the root span' }).waitFor(WAIT);
    expect(await trace.page.getByTestId('trace-name').innerText()).toBe('(waiting for the root span)');

    // The root arrives, complete: both views say the run ended, live, without a reload.
    await server().gql(CREATE_SPAN, { input: { id: rootId, traceId, name: 'agent run', startTime: at(0), endTime: at(1200) } });
    await trace.page.getByTestId('trace-status').filter({ hasText: /^ok$/ }).waitFor(WAIT);
    expect(await trace.page.getByTestId('trace-name').innerText()).toBe('agent run');
    await explorer.page.locator(`[data-trace-id="${traceId}"][data-status="OK"]`).waitFor(WAIT);
    expect(await row.innerText()).toContain('agent run');
    expect(explorer.errors).toEqual([]);
    expect(trace.errors).toEqual([]);
  });
});
