/**
 * "View code": the request a playground run sends to the provider, written as curl, TypeScript and
 * Python, to take the prompt into an application. The request itself comes from the server
 * (`Query.playgroundRequest`, built by the code that sends runs): this file only writes it out. The
 * provider's key (and its extra headers' values) never appear: the snippets read them from
 * environment variables, as the page never has them.
 */
import type { ProviderKind, WireRequest } from './playground.ts';

export type CodeLanguage = 'curl' | 'typescript' | 'python';

export const CODE_LANGUAGES: readonly { language: CodeLanguage; label: string }[] = [
  { language: 'curl', label: 'curl' },
  { language: 'typescript', label: 'TypeScript' },
  { language: 'python', label: 'Python' },
];

/**
 * The body's keys that each Python SDK takes as a named parameter; the rest go as `extra_body`, which
 * the SDK merges into the body as it is. @anthropic-ai/sdk no longer names temperature and top_p
 * since its 1.0 (API version 2026-10-21), and `anthropic` may not either: those go as `extra_body`.
 */
const OPENAI_NAMED = new Set(['model', 'messages', 'temperature', 'max_tokens', 'top_p', 'stop', 'tools', 'stream', 'stream_options']);
const ANTHROPIC_NAMED = new Set(['model', 'system', 'messages', 'max_tokens', 'stop_sequences', 'tools', 'tool_choice', 'metadata', 'thinking', 'stream']);

/**
 * The API version the server's @anthropic-ai/sdk (1.17) sends with every request; curl has to send it
 * by hand. The playground's test compares it with what the fake Anthropic receives, so an SDK upgrade
 * that changes it fails there.
 */
const ANTHROPIC_VERSION = '2026-10-21';

/** The environment variable the key is read from: the one each kind's SDK reads by default. */
export function keyVariableOf(kind: ProviderKind): string {
  return kind === 'ANTHROPIC' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY';
}

/** An environment variable's name for a header: `X-Org-Id` reads `$X_ORG_ID`. */
function variableOf(header: string): string {
  const name = header.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[0-9]/.test(name) ? `H_${name}` : name || 'HEADER';
}

/** The request in `language`, for a provider of `kind`. */
export function requestCode(language: CodeLanguage, request: WireRequest, kind: ProviderKind): string {
  switch (language) {
    case 'curl':
      return curlOf(request, kind);
    case 'typescript':
      return kind === 'ANTHROPIC' ? anthropicTypeScript(request) : openAiTypeScript(request);
    case 'python':
      return kind === 'ANTHROPIC' ? anthropicPython(request) : openAiPython(request);
  }
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The extra headers, each with the variable its value is read from. */
function extraHeaders(request: WireRequest): { name: string; variable: string }[] {
  return request.headerNames.map((name) => ({ name, variable: variableOf(name) }));
}

/** curl sends the body exactly as the server gave it: the same bytes the SDK puts on the wire. */
function curlOf(request: WireRequest, kind: ProviderKind): string {
  const lines = [`curl ${shellQuote(request.url)}`, `  -H 'Content-Type: application/json'`];
  // Double quotes: the shell puts the variable's value in; the value itself is never written here.
  const key = `$${keyVariableOf(kind)}`;
  if (request.keyHeader === 'authorization') lines.push(`  -H "Authorization: Bearer ${key}"`);
  else if (request.keyHeader) lines.push(`  -H "${request.keyHeader}: ${key}"`);
  const named = new Set(request.headerNames.map((name) => name.toLowerCase()));
  if (kind === 'ANTHROPIC' && !named.has('anthropic-version')) lines.push(`  -H 'anthropic-version: ${ANTHROPIC_VERSION}'`);
  for (const header of extraHeaders(request)) lines.push(`  -H "${header.name}: $${header.variable}"`);
  lines.push('  --no-buffer');
  lines.push(`  -d ${shellQuote(JSON.stringify(request.body))}`);
  return lines.join(' \\\n');
}

/** The SDK's base URL: the request's address without the path the SDK adds. */
function baseUrlOf(request: WireRequest, path: RegExp): string {
  return request.url.replace(path, '');
}

function typeScriptClient(request: WireRequest, kind: ProviderKind, path: RegExp): string[] {
  const options = [`  baseURL: ${JSON.stringify(baseUrlOf(request, path))},`, `  apiKey: process.env.${keyVariableOf(kind)},`];
  const headers = extraHeaders(request);
  if (headers.length > 0) {
    options.push(`  defaultHeaders: { ${headers.map((header) => `${JSON.stringify(header.name)}: process.env.${header.variable}`).join(', ')} },`);
  }
  return options;
}

function noKeyNote(request: WireRequest, kind: ProviderKind, comment: string): string[] {
  return request.keyHeader ? [] : [`${comment} This provider takes no key; the client wants one all the same: set ${keyVariableOf(kind)} to any text.`];
}

const OPENAI_PATH = /\/chat\/completions$/;
const ANTHROPIC_PATH = /\/v1\/messages$/;

function openAiTypeScript(request: WireRequest): string {
  return [
    `import OpenAI from 'openai';`,
    '',
    ...noKeyNote(request, 'OPENAI_COMPATIBLE', '//'),
    `const client = new OpenAI({`,
    ...typeScriptClient(request, 'OPENAI_COMPATIBLE', OPENAI_PATH),
    `});`,
    '',
    // The assertion lets parameters the SDK's types do not name (a provider's own) through, as the server sends them.
    `const stream = await client.chat.completions.create(${JSON.stringify(request.body, null, 2)} as OpenAI.ChatCompletionCreateParamsStreaming);`,
    '',
    `for await (const chunk of stream) {`,
    `  process.stdout.write(chunk.choices[0]?.delta?.content ?? '');`,
    `  if (chunk.usage) console.log('\\n', chunk.usage);`,
    `}`,
  ].join('\n');
}

function anthropicTypeScript(request: WireRequest): string {
  return [
    `import Anthropic from '@anthropic-ai/sdk';`,
    '',
    ...noKeyNote(request, 'ANTHROPIC', '//'),
    `const client = new Anthropic({`,
    ...typeScriptClient(request, 'ANTHROPIC', ANTHROPIC_PATH),
    `});`,
    '',
    `const stream = await client.messages.create(${JSON.stringify(request.body, null, 2)} as Anthropic.MessageCreateParamsStreaming);`,
    '',
    `for await (const event of stream) {`,
    `  if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') process.stdout.write(event.delta.text);`,
    `  if (event.type === 'message_delta') console.log('\\n', event.usage);`,
    `}`,
  ].join('\n');
}

function pythonArguments(body: Record<string, unknown>, named: Set<string>): string[] {
  const lines: string[] = [];
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (named.has(key)) lines.push(`    ${key}=${python(value, '    ')},`);
    else extra[key] = value;
  }
  if (Object.keys(extra).length > 0) lines.push(`    extra_body=${python(extra, '    ')},`);
  return lines;
}

function pythonClient(request: WireRequest, kind: ProviderKind, path: RegExp): string[] {
  const headers = extraHeaders(request);
  return [
    `    base_url=${JSON.stringify(baseUrlOf(request, path))},`,
    `    api_key=os.environ[${JSON.stringify(keyVariableOf(kind))}],`,
    ...(headers.length > 0
      ? [`    default_headers={${headers.map((header) => `${JSON.stringify(header.name)}: os.environ[${JSON.stringify(header.variable)}]`).join(', ')}},`]
      : []),
  ];
}

function openAiPython(request: WireRequest): string {
  return [
    'import os',
    '',
    'from openai import OpenAI',
    '',
    ...noKeyNote(request, 'OPENAI_COMPATIBLE', '#'),
    'client = OpenAI(',
    ...pythonClient(request, 'OPENAI_COMPATIBLE', OPENAI_PATH),
    ')',
    '',
    'stream = client.chat.completions.create(',
    ...pythonArguments(request.body, OPENAI_NAMED),
    ')',
    '',
    'for chunk in stream:',
    '    if chunk.choices:',
    '        print(chunk.choices[0].delta.content or "", end="", flush=True)',
    '    if chunk.usage:',
    '        print("\\n", chunk.usage)',
  ].join('\n');
}

function anthropicPython(request: WireRequest): string {
  return [
    'import os',
    '',
    'import anthropic',
    '',
    ...noKeyNote(request, 'ANTHROPIC', '#'),
    'client = anthropic.Anthropic(',
    ...pythonClient(request, 'ANTHROPIC', ANTHROPIC_PATH),
    ')',
    '',
    'stream = client.messages.create(',
    ...pythonArguments(request.body, ANTHROPIC_NAMED),
    ')',
    '',
    'for event in stream:',
    '    if event.type == "content_block_delta" and event.delta.type == "text_delta":',
    '        print(event.delta.text, end="", flush=True)',
    '    if event.type == "message_delta":',
    '        print("\\n", event.usage)',
  ].join('\n');
}

/** A JSON value as a Python literal (True, False, None), indented as JSON.stringify would. */
function python(value: unknown, indent = '', step = '    '): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'None';
  if (typeof value === 'string') return JSON.stringify(value);
  const inner = indent + step;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => `${inner}${python(item, inner, step)}`).join(',\n')},\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([key, item]) => `${inner}${JSON.stringify(key)}: ${python(item, inner, step)}`).join(',\n')},\n${indent}}`;
}
