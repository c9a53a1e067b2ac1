/**
 * Reading a request body for the routes that read their own (OTLP, REST): bounded by MAX_BODY_BYTES
 * before and after inflating, gzip or not, and refused with an HTTP status the route answers in its
 * own format.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip } from 'node:zlib';

/** A refusal with its HTTP status and headers; each route writes it in its own body format. */
export class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The body, inflated when gzip-compressed; refused (413) past `maxBytes` before or after inflating,
 * (415) in an encoding other than gzip, (400) when it cannot be read. `advice` ends the 413 message.
 */
export async function readBody(req: IncomingMessage, maxBytes: number, advice: string): Promise<Buffer> {
  const tooLarge = () => new HttpRefusal(413, `The body is larger than ${maxBytes} bytes; ${advice}`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const contentEncoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (contentEncoding !== 'gzip' && contentEncoding !== 'identity') {
    throw new HttpRefusal(415, `Content-Encoding must be gzip or none, not ${JSON.stringify(contentEncoding)}`);
  }
  // Compressed bytes are counted too: gzip members that inflate to nothing would otherwise stream forever.
  let received = 0;
  const gunzip = contentEncoding === 'gzip' ? createGunzip() : null;
  // Its errors reach the loop below through the iterator; this keeps a late one (the body still
  // arriving after a refusal) from being an unhandled 'error' event.
  gunzip?.on('error', () => {});
  const source = gunzip ? req.on('data', (chunk: Buffer) => (received += chunk.length)).pipe(gunzip) : req;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes || received > maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof HttpRefusal) throw error;
    throw new HttpRefusal(400, `The body could not be read: ${(error as Error).message}`);
  } finally {
    // A refused body is drained by the caller, not written into an inflater that is gone.
    if (gunzip) req.unpipe(gunzip);
  }
  return Buffer.concat(chunks);
}
