/**
 * What an empty project shows instead of an empty list: where to send spans (the OTLP endpoint and
 * the header, with this page's own origin and key) and one curl line that writes a first span
 * through GraphQL, to paste into a terminal and watch it appear here.
 */
import { useMemo } from 'preact/hooks';
import { useCopy } from './common.tsx';

/** `text` as one argument of a POSIX shell command line, quoted. */
function shellQuoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * A curl line that creates one ended span (startTime and endTime set, so it shows finished rather
 * than running forever) at `origin`, authorized by `key`.
 */
function firstSpanCurl(origin: string, key: string, at: Date): string {
  const time = at.toISOString();
  const body = JSON.stringify({
    query: 'mutation FirstSpan($span: CreateSpanInput!) { createSpan(input: $span) { id traceId } }',
    variables: { span: { name: 'hello-spantree', startTime: time, endTime: time, input: 'Hello, Spantree', output: 'Hello from your first span.' } },
  });
  return [
    'curl -sS',
    shellQuoted(`${origin}/graphql`),
    '-H',
    shellQuoted(`Authorization: Bearer ${key}`),
    '-H',
    shellQuoted('Content-Type: application/json'),
    '-d',
    shellQuoted(body),
  ].join(' ');
}

export function FirstSpan({ apiKey }: { apiKey: string }) {
  const origin = location.origin;
  // Fixed when the page shows it: the line stays the same while it is being copied.
  const curl = useMemo(() => firstSpanCurl(origin, apiKey, new Date()), [origin, apiKey]);
  const { copied, copy } = useCopy('Select the line and copy it');
  return (
    <div class="first-span" data-testid="first-span">
      <h2>No traces yet: send a first span</h2>
      <p>
        <strong>OpenTelemetry</strong> (OTLP over HTTP): point your exporter at this server with this page's key.
      </p>
      <dl class="first-span-facts">
        <div>
          <dt>Endpoint</dt>
          <dd>
            <code data-testid="otlp-endpoint">{`${origin}/v1/traces`}</code>
          </dd>
        </div>
        <div>
          <dt>Header</dt>
          <dd>
            <code data-testid="otlp-header">{`Authorization: Bearer ${apiKey}`}</code>
          </dd>
        </div>
      </dl>
      <pre class="text-block">{`export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=${origin}/v1/traces\nexport OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20${apiKey}"`}</pre>
      <p>
        <strong>Or write one now</strong> through the GraphQL API, in a terminal:
      </p>
      <pre class="text-block curl" data-testid="first-span-curl">
        {curl}
      </pre>
      <div class="row-actions">
        <button type="button" onClick={() => copy(curl)}>
          Copy the curl line
        </button>
        {copied && (
          <span class="muted" role="status">
            {copied}
          </span>
        )}
      </div>
      <p class="muted">It appears here as soon as it is written: this list is live.</p>
    </div>
  );
}
