/**
 * Content off by default, said where it matters, in a real browser against a real server: the
 * explorer tells an ADMIN key that its project keeps metadata only (dismissed per project, and
 * remembered), switches the project to FULL after a plain privacy warning (and says plainly when
 * that fails), and "retained: no" in the span detail leads there, also for a key that cannot change
 * it. Each test has a project of its own, which keeps metadata only as every new project does.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { usePages, useBrowser } from '../helpers/browser.js';
import { at, CREATE_SPANS, uid } from '../helpers/operations.js';
import { bearer, originOf, useTestServer } from '../helpers/server.js';

const server = useTestServer({}, { retention: 'METADATA_ONLY' });
const browser = useBrowser();
const WAIT = { timeout: 30_000 };
const open = usePages(browser, () => originOf(server().url));

/** A new project (metadata only, as the default is) and a key of it with these scopes. */
async function projectWithKey(scopes: string[]) {
  const { createProject } = await server().gql(`mutation ($name: String!) { createProject(input: { name: $name }) { id name } }`, { name: uid('project') });
  const { createApiKey } = await server().gql(
    `mutation ($projectId: ID!, $scopes: [ApiKeyScope!]!) { createApiKey(input: { name: "web", projectId: $projectId, scopes: $scopes }) { key apiKey { id } } }`,
    { projectId: createProject.id, scopes },
  );
  return { projectId: createProject.id as string, name: createProject.name as string, key: createApiKey.key as string, keyId: createApiKey.apiKey.id as string };
}

async function modeOf(key: string): Promise<string> {
  const response = await server().request(`query { viewer { project { effectiveRetention { mode } } } }`, {}, bearer(key));
  return response.data.viewer.project.effectiveRetention.mode;
}

const notice = (page: Page) => page.getByTestId('retention-notice');

/** Waits until the explorer has listed (so the viewer, and with it the notice, had time to come). */
async function explorerReady(page: Page) {
  await page.getByTestId('trace-count').getByText(/traces?$/).waitFor(WAIT);
  await page.getByTestId('project').waitFor(WAIT);
}

describe('the retention notice', () => {
  it('tells an ADMIN key plainly that content is not stored; dismissed, it stays away for that project only', async () => {
    const first = await projectWithKey(['READ', 'INGEST', 'ADMIN']);
    const { page, outside, errors } = await open('/', { key: first.key });
    await notice(page).waitFor(WAIT);
    const text = await notice(page).innerText();
    expect(text).toContain(first.name);
    expect(text).toMatch(/keeps metadata only/);
    expect(text).toMatch(/prompts, model outputs and instructions are not stored/i);
    await notice(page).getByRole('button', { name: 'Dismiss' }).click();
    await notice(page).waitFor({ state: 'detached', ...WAIT });

    // Remembered: a reload does not bring it back.
    await page.reload();
    await explorerReady(page);
    expect(await notice(page).count()).toBe(0);

    // Per project: another project's ADMIN key in the same browser is told; the first's is not again.
    const useKey = async (key: string) => {
      await page.getByRole('button', { name: 'change key' }).click();
      await page.getByLabel('API key').fill(key);
      await page.getByRole('button', { name: 'Open', exact: true }).click();
    };
    const second = await projectWithKey(['READ', 'ADMIN']);
    await useKey(second.key);
    await notice(page).getByText(second.name).waitFor(WAIT);
    await useKey(first.key);
    await page.getByTestId('project').getByText(first.name).waitFor(WAIT);
    await explorerReady(page);
    expect(await notice(page).count()).toBe(0);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('does not show to a key without ADMIN, nor once the project keeps content', async () => {
    const reader = await projectWithKey(['READ']);
    const { page } = await open('/', { key: reader.key });
    await explorerReady(page);
    expect(await notice(page).count()).toBe(0);

    const full = await projectWithKey(['READ', 'ADMIN']);
    await server().gql(`mutation ($id: ID!) { setRetentionRule(input: { projectId: $id, mode: FULL }) { mode } }`, { id: full.projectId });
    const other = await open('/', { key: full.key });
    await explorerReady(other.page);
    expect(await notice(other.page).count()).toBe(0);
  });

  it('switches the project to FULL after a plain privacy warning, and the notice goes', async () => {
    const project = await projectWithKey(['READ', 'INGEST', 'ADMIN']);
    const { page, outside, errors } = await open('/', { key: project.key });
    await notice(page).getByRole('button', { name: /Keep prompts and outputs/ }).click();
    const warning = page.getByTestId('privacy-warning');
    await warning.waitFor(WAIT);
    const text = await warning.innerText();
    for (const said of ['prompts, model answers, instructions', 'personal data', 'Spans already stored stay as they are', 'switch back', 'contentTtlDays', 'docs/retention.md']) {
      expect(text, said).toContain(said);
    }
    // Cancel changes nothing.
    await warning.getByRole('button', { name: 'Cancel' }).click();
    await warning.waitFor({ state: 'detached', ...WAIT });
    expect(await modeOf(project.key)).toBe('METADATA_ONLY');

    await notice(page).getByRole('button', { name: /Keep prompts and outputs/ }).click();
    await page.getByTestId('privacy-warning').getByRole('button', { name: 'Keep content (FULL)' }).click();
    await page.getByTestId('retention-kept').waitFor(WAIT);
    await notice(page).waitFor({ state: 'detached', ...WAIT });
    expect(await modeOf(project.key)).toBe('FULL');
    // The project's own rule: its spans keep content from now on.
    const traceId = uid('kept');
    const written = await server().request(CREATE_SPANS, { input: [{ id: `${traceId}-root`, traceId, name: 'kept', startTime: at(0), endTime: at(5), input: 'hello' }] }, bearer(project.key));
    expect(written.errors).toBeUndefined();
    const { span } = (await server().request(`query ($id: ID!) { span(id: $id) { retained input } }`, { id: `${traceId}-root` }, bearer(project.key))).data;
    expect(span).toEqual({ retained: true, input: 'hello' });

    await page.reload();
    await explorerReady(page);
    expect(await notice(page).count()).toBe(0);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('says plainly when the switch fails, and the project keeps metadata only', async () => {
    const project = await projectWithKey(['READ', 'ADMIN']);
    const { page, outside } = await open('/', { key: project.key });
    await notice(page).getByRole('button', { name: /Keep prompts and outputs/ }).click();
    await page.getByTestId('privacy-warning').waitFor(WAIT);
    // The key is revoked while the warning is read: the server refuses the switch.
    await server().gql(`mutation ($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: project.keyId });
    await page.getByTestId('privacy-warning').getByRole('button', { name: 'Keep content (FULL)' }).click();
    const error = page.getByTestId('retention-error');
    await error.waitFor(WAIT);
    expect(await error.innerText()).toMatch(/still keeps metadata only: .*revoked/);
    expect(await notice(page).count()).toBe(1);
    const { projects } = await server().gql(`query { projects { id effectiveRetention { mode } } }`);
    expect(projects.find((candidate: { id: string }) => candidate.id === project.projectId).effectiveRetention.mode).toBe('METADATA_ONLY');
    expect(outside).toEqual([]);
  });
});

describe('"retained: no" in the span detail', () => {
  async function metadataOnlySpan(key: string) {
    const traceId = uid('meta');
    const written = await server().request(
      CREATE_SPANS,
      { input: [{ id: `${traceId}-gen`, traceId, name: 'chat', model: 'gpt-4o', startTime: at(0), endTime: at(900), input: [{ role: 'user', content: 'secret' }], output: 'hidden' }] },
      bearer(key),
    );
    expect(written.errors).toBeUndefined();
    return `/traces/${traceId}/spans/${traceId}-gen`;
  }

  it('leads an ADMIN key to the notice, even dismissed, from the facts and from the content', async () => {
    const project = await projectWithKey(['READ', 'INGEST', 'ADMIN']);
    const { page, outside, errors } = await open('/', { key: project.key });
    await notice(page).getByRole('button', { name: 'Dismiss' }).click();
    await notice(page).waitFor({ state: 'detached', ...WAIT });

    await page.goto(originOf(server().url) + (await metadataOnlySpan(project.key)));
    await page.getByTestId('retained-no').click();
    await page.waitForURL((url) => url.pathname === '/' && url.searchParams.has('retention'), WAIT);
    await notice(page).getByRole('button', { name: /Keep prompts and outputs/ }).waitFor(WAIT);

    // Closing it ends the link; it stays dismissed.
    await notice(page).getByRole('button', { name: 'Dismiss' }).click();
    await page.waitForURL((url) => !url.searchParams.has('retention'), WAIT);
    expect(await notice(page).count()).toBe(0);

    // The input's "retained: no — ..." leads to the same place.
    await page.goBack();
    await page.waitForURL(/\/spans\//, WAIT);
    await page.getByTestId('span-input').getByRole('link', { name: /retained: no/ }).click();
    await page.waitForURL((url) => url.searchParams.has('retention'), WAIT);
    await notice(page).waitFor(WAIT);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('tells a key without ADMIN that the project keeps metadata only and that an ADMIN key can change it', async () => {
    const project = await projectWithKey(['READ', 'INGEST']);
    const { page, outside } = await open(await metadataOnlySpan(project.key), { key: project.key });
    await page.getByTestId('retained-no').click();
    await page.waitForURL((url) => url.searchParams.has('retention'), WAIT);
    await notice(page).waitFor(WAIT);
    const text = await notice(page).innerText();
    expect(text).toContain('keeps metadata only');
    expect(text).toContain('not stored');
    expect(text).toMatch(/key with the ADMIN scope can change this/);
    expect(await notice(page).getByRole('button', { name: /Keep/ }).count()).toBe(0);
    await notice(page).getByRole('button', { name: 'Close' }).click();
    await notice(page).waitFor({ state: 'detached', ...WAIT });
    expect(outside).toEqual([]);
  });
});
