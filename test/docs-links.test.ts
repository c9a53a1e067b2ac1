/**
 * The README and the pages of docs/ hold together: every relative link and image points to a file that
 * exists, every #anchor to a heading of the page it names, every page is linked from the README, and
 * the README stays a front door (under 400 lines). Reads files only: no server.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`)];
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** The text outside fenced code blocks: headings and links inside code are neither. */
const prose = (markdown: string) => markdown.replace(/^[ \t]*(```|~~~)[^\n]*\n[\s\S]*?^[ \t]*\1[ \t]*$/gm, '');

/** GitHub's anchor for a heading: lower case, punctuation dropped except '-' and '_', spaces to '-'. */
function slug(heading: string): string {
  return heading
    .trim()
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a page's headings; a repeated heading gets -1, -2 ... as on GitHub. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, text] of prose(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
    const base = slug(text!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Every inline link and image target of a page, outside code. */
function links(markdown: string): string[] {
  const text = prose(markdown).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1]!);
}

describe('README and docs links', () => {
  it('finds the pages', () => {
    expect(pages.length).toBeGreaterThan(10);
    expect(slug('API keys, scopes and projects')).toBe('api-keys-scopes-and-projects');
    expect(slug('Limits, browsers and the network')).toBe('limits-browsers-and-the-network');
    expect(slug('`traceSpans` and SSE_mode')).toBe('tracespans-and-sse_mode');
  });

  it.each(pages)('every relative link and image of %s resolves, anchors included', (page) => {
    const broken: string[] = [];
    for (const target of links(read(page))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      const file = path === '' ? join(root, page) : resolve(dirname(join(root, page)), decodeURI(path));
      if (!existsSync(file)) {
        broken.push(`${target}: no file ${relative(root, file)}`);
        continue;
      }
      if (anchor === undefined) continue;
      if (statSync(file).isDirectory() || !file.endsWith('.md')) {
        broken.push(`${target}: an anchor into a file that is not markdown`);
      } else if (!anchors(readFileSync(file, 'utf8')).has(anchor)) {
        broken.push(`${target}: no heading #${anchor} in ${relative(root, file)}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the README links every page of docs/', () => {
    const linked = new Set(links(read('README.md')).map((target) => target.split('#')[0]));
    expect(pages.filter((page) => page !== 'README.md' && !linked.has(page))).toEqual([]);
  });

  it('the README is a front door: under 400 lines', () => {
    expect(read('README.md').split('\n').length).toBeLessThan(400);
  });
});
