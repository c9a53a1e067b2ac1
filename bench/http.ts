/**
 * The one HTTP client every workload uses, for Spantree, the floors and PostGraphile alike: the same
 * fetch (undici, keep-alive), the same JSON encoding and decoding on the client side.
 */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok && !text.startsWith('{')) throw new Error(`${url} answered ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}
