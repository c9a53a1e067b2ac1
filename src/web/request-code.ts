/**
 * "View code": the request a playground run sends to the provider, written as curl, TypeScript and
 * Python, to take the prompt into an application. The provider's key (and its extra headers' values)
 * never appear: the snippets read them from environment variables, as the page never has them.
 * The request is built as the server builds it (src/providers/): the OpenAI chat completions body for
 * an OpenAI-compatible provider, the Messages API body for Anthropic, streamed with usage.
 */
import type { MessageInput, Provider, RunInput } from './playground.ts';
import { PROVIDER_KINDS } from './playground.ts';

export type CodeLanguage = 'curl' | 'typescript' | 'python';

export const CODE_LANGUAGES: readonly { language: CodeLanguage; label: string }[] = [
  { language: 'curl', label: 'curl' },
  { language: 'typescript', label: 'TypeScript' },
  { language: 'python', label: 'Python' },
];

/** The body's keys that each SDK takes as a named parameter; the rest go as `extra_body` in Python. */
const OPENAI_NAMED = new Set(['model', 'messages', 'temperature', 'max_tokens', 'top_p', 'stop', 'tools', 'stream', 'stream_options']);
const ANTHROPIC_NAMED = new Set(['model', 'system', 'messages', 'max_tokens', 'temperature', 'top_p', 'stop_sequences', 'tools', 'stream']);

/**
 * Anthropic wants max_tokens: the server sends its own limit (PLAYGROUND_MAX_TOKENS, 4,096 unless
 * set otherwise) when the run names none.
 */
export const DEFAULT_MAX_TOKENS_LIMIT = 4096;

/** The API version @anthropic-ai/sdk sends. */
const ANTHROPIC_VERSION = '2023-06-01';

export interface ProviderRequest {
  url: string;
  /** Header name → the environment variable its value is read from. */
  headers: { name: string; variable: string; prefix?: string }[];
  body: Record<string, unknown>;
  kind: Provider['kind'];
  keyVariable: string;
}

function baseUrlOf(provider: Provider): string {
  return (provider.baseUrl ?? PROVIDER_KINDS.find((kind) => kind.kind === provider.kind)!.baseUrl).replace(/\/+$/, '');
}

/** An environment variable's name for a header: `X-Org-Id` reads `$X_ORG_ID`. */
export function variableOf(header: string): string {
  const name = header.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[0-9]/.test(name) ? `H_${name}` : name || 'HEADER';
}

function openAiMessage(message: MessageInput): Record<string, unknown> {
  switch (message.role) {
    case 'SYSTEM':
      return { role: 'system', content: message.content ?? '' };
    case 'USER':
      return { role: 'user', content: message.content ?? '' };
    case 'TOOL':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content ?? '' };
    case 'ASSISTANT': {
      const out: Record<string, unknown> = { role: 'assistant', content: message.content };
      if (message.toolCalls?.length) {
        out.tool_calls = message.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {}) },
        }));
      }
      return out;
    }
  }
}

/** Anthropic's turns: system text apart (the `system` field), tool results as user turns, tool calls as tool_use blocks. */
function anthropicMessage(message: MessageInput): Record<string, unknown> {
  if (message.role === 'TOOL') return { role: 'user', content: [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content ?? '' }] };
  if (message.role === 'ASSISTANT' && message.toolCalls?.length) {
    return {
      role: 'assistant',
      content: [
        ...(message.content ? [{ type: 'text', text: message.content }] : []),
        ...message.toolCalls.map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: toolInput(call.arguments) })),
      ],
    };
  }
  return { role: message.role === 'ASSISTANT' ? 'assistant' : 'user', content: message.content ?? '' };
}

/** Anthropic takes a call's input as an object: JSON text parsed, other text wrapped. */
function toolInput(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? {};
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed === 'object' && parsed !== null) return parsed;
  } catch {
    // not JSON: wrapped below
  }
  return { input: value };
}

/** OpenAI's tool definitions as Anthropic's: `{name, description, input_schema}`; others as they are. */
function anthropicTools(tools: readonly unknown[]): unknown[] {
  return tools.map((tool) => {
    const fn = (tool as { type?: string; function?: { name?: string; description?: string; parameters?: unknown } } | null)?.function;
    if (!fn || (tool as { type?: string }).type !== 'function') return tool;
    return { name: fn.name, ...(fn.description ? { description: fn.description } : {}), input_schema: fn.parameters ?? { type: 'object', properties: {} } };
  });
}

/** The provider request a run input makes. */
export function providerRequest(provider: Provider, input: RunInput, maxTokensLimit = DEFAULT_MAX_TOKENS_LIMIT): ProviderRequest {
  const base = baseUrlOf(provider);
  const p = input.parameters;
  const extraHeaders = provider.headerNames.map((name) => ({ name, variable: variableOf(name) }));
  if (provider.kind === 'ANTHROPIC') {
    const system = input.messages.filter((message) => message.role === 'SYSTEM').map((message) => message.content ?? '');
    const body: Record<string, unknown> = { model: input.model };
    if (system.length > 0) body.system = system.join('\n\n');
    body.messages = input.messages.filter((message) => message.role !== 'SYSTEM').map(anthropicMessage);
    body.max_tokens = p.maxTokens ?? maxTokensLimit;
    if (p.temperature !== undefined) body.temperature = p.temperature;
    if (p.topP !== undefined) body.top_p = p.topP;
    if (p.stop) body.stop_sequences = p.stop;
    if (input.tools) body.tools = anthropicTools(input.tools);
    Object.assign(body, p.extra ?? {});
    body.stream = true;
    const headers = [
      ...(provider.hasApiKey ? [{ name: 'x-api-key', variable: 'ANTHROPIC_API_KEY' }] : []),
      { name: 'anthropic-version', variable: '', prefix: ANTHROPIC_VERSION },
      ...extraHeaders,
    ];
    return { url: `${base}/v1/messages`, headers, body, kind: provider.kind, keyVariable: 'ANTHROPIC_API_KEY' };
  }
  const body: Record<string, unknown> = { model: input.model, messages: input.messages.map(openAiMessage) };
  if (p.temperature !== undefined) body.temperature = p.temperature;
  if (p.maxTokens !== undefined) body.max_tokens = p.maxTokens;
  if (p.topP !== undefined) body.top_p = p.topP;
  if (p.stop) body.stop = p.stop;
  if (input.tools) body.tools = input.tools;
  Object.assign(body, p.extra ?? {});
  body.stream = true;
  body.stream_options = { include_usage: true };
  const headers = [...(provider.hasApiKey ? [{ name: 'Authorization', variable: 'OPENAI_API_KEY', prefix: 'Bearer ' }] : []), ...extraHeaders];
  return { url: `${base}/chat/completions`, headers, body, kind: provider.kind, keyVariable: 'OPENAI_API_KEY' };
}

/** The request in `language`. */
export function requestCode(language: CodeLanguage, request: ProviderRequest, provider: Provider): string {
  switch (language) {
    case 'curl':
      return curlOf(request);
    case 'typescript':
      return request.kind === 'ANTHROPIC' ? anthropicTypeScript(request, provider) : openAiTypeScript(request, provider);
    case 'python':
      return request.kind === 'ANTHROPIC' ? anthropicPython(request, provider) : openAiPython(request, provider);
  }
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function curlOf(request: ProviderRequest): string {
  const lines = [`curl ${shellQuote(request.url)}`, `  -H 'Content-Type: application/json'`];
  for (const header of request.headers) {
    // Double quotes: the shell puts the variable's value in; the value itself is never written here.
    const value = header.variable ? `${header.prefix ?? ''}$${header.variable}` : (header.prefix ?? '');
    lines.push(header.variable ? `  -H "${header.name}: ${value}"` : `  -H '${header.name}: ${value}'`);
  }
  lines.push('  --no-buffer');
  lines.push(`  -d ${shellQuote(JSON.stringify(request.body, null, 2))}`);
  return lines.join(' \\\n');
}

/** Headers besides the key, read from the environment. */
function otherHeaders(request: ProviderRequest, skip: string[]): { name: string; variable: string }[] {
  return request.headers.filter((header) => header.variable && !skip.includes(header.name));
}

function openAiTypeScript(request: ProviderRequest, provider: Provider): string {
  const headers = otherHeaders(request, ['Authorization']);
  const options = [`  baseURL: ${JSON.stringify(request.url.replace(/\/chat\/completions$/, ''))},`, `  apiKey: process.env.OPENAI_API_KEY,`];
  if (headers.length > 0) {
    options.push(`  defaultHeaders: { ${headers.map((header) => `${JSON.stringify(header.name)}: process.env.${header.variable}`).join(', ')} },`);
  }
  return [
    `import OpenAI from 'openai';`,
    '',
    ...(provider.hasApiKey ? [] : [`// This provider takes no key; the client wants one all the same: set OPENAI_API_KEY to any text.`]),
    `const client = new OpenAI({`,
    ...options,
    `});`,
    '',
    `const stream = await client.chat.completions.create(${JSON.stringify(request.body, null, 2)});`,
    '',
    `for await (const chunk of stream) {`,
    `  process.stdout.write(chunk.choices[0]?.delta?.content ?? '');`,
    `  if (chunk.usage) console.log('\\n', chunk.usage);`,
    `}`,
  ].join('\n');
}

function anthropicTypeScript(request: ProviderRequest, provider: Provider): string {
  const headers = otherHeaders(request, ['x-api-key']);
  const options = [`  baseURL: ${JSON.stringify(request.url.replace(/\/v1\/messages$/, ''))},`, `  apiKey: process.env.ANTHROPIC_API_KEY,`];
  if (headers.length > 0) {
    options.push(`  defaultHeaders: { ${headers.map((header) => `${JSON.stringify(header.name)}: process.env.${header.variable}`).join(', ')} },`);
  }
  return [
    `import Anthropic from '@anthropic-ai/sdk';`,
    '',
    ...(provider.hasApiKey ? [] : [`// This provider takes no key; set ANTHROPIC_API_KEY to any text.`]),
    `const client = new Anthropic({`,
    ...options,
    `});`,
    '',
    `const stream = await client.messages.create(${JSON.stringify(request.body, null, 2)});`,
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

function pythonHeaders(headers: { name: string; variable: string }[]): string[] {
  if (headers.length === 0) return [];
  return [`    default_headers={${headers.map((header) => `${JSON.stringify(header.name)}: os.environ[${JSON.stringify(header.variable)}]`).join(', ')}},`];
}

function openAiPython(request: ProviderRequest, provider: Provider): string {
  return [
    'import os',
    '',
    'from openai import OpenAI',
    '',
    ...(provider.hasApiKey ? [] : ['# This provider takes no key; the client wants one all the same: set OPENAI_API_KEY to any text.']),
    'client = OpenAI(',
    `    base_url=${JSON.stringify(request.url.replace(/\/chat\/completions$/, ''))},`,
    `    api_key=os.environ["OPENAI_API_KEY"],`,
    ...pythonHeaders(otherHeaders(request, ['Authorization'])),
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

function anthropicPython(request: ProviderRequest, provider: Provider): string {
  return [
    'import os',
    '',
    'import anthropic',
    '',
    ...(provider.hasApiKey ? [] : ['# This provider takes no key; set ANTHROPIC_API_KEY to any text.']),
    'client = anthropic.Anthropic(',
    `    base_url=${JSON.stringify(request.url.replace(/\/v1\/messages$/, ''))},`,
    `    api_key=os.environ["ANTHROPIC_API_KEY"],`,
    ...pythonHeaders(otherHeaders(request, ['x-api-key'])),
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
export function python(value: unknown, indent = '', step = '    '): string {
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
