/** Why the server could not start, in one line a person can act on. */
export function startFailure(error: unknown): string {
  const { message = String(error), code, address, port } = (error ?? {}) as {
    message?: string;
    code?: string;
    address?: string;
    port?: number;
  };
  const where = address ? ` at ${address}${port ? `:${port}` : ''}` : '';
  const service = port === 6379 || /redis/i.test(message) ? 'Redis (REDIS_URL)' : 'the database (DATABASE_URL)';
  switch (code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
      return `${service} is unreachable${where} (${code}); check that it is running and that the URL is right`;
    case 'EADDRINUSE':
      return `the port is already in use${where}; set PORT to another one`;
    case 'EACCES':
      return `no permission${where}: ${firstLine(message)}`;
    case '28P01':
    case '28000':
      return `the database refused the credentials in DATABASE_URL: ${firstLine(message)}`;
    default:
      return firstLine(message);
  }
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim())?.trim() ?? text;
}
