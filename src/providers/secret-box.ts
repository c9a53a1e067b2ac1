/**
 * Secrets at rest: a model provider's API key and extra headers are stored only as AES-256-GCM
 * ciphertext under the server's secret key (SPANTREE_SECRET_KEY, or a key generated at first start
 * and kept in SPANTREE_SECRET_KEY_FILE, mode 0600, like the admin key file).
 *
 * A sealed value names the key it was sealed under by a fingerprint (never the key), so that after a
 * rotation the server can tell a value sealed under the previous key (SPANTREE_SECRET_KEY_PREVIOUS,
 * re-sealed at start) from one it cannot read at all, and say so instead of failing obscurely. Each
 * value is bound to where it is stored (the provider and the field) as additional authenticated
 * data: a ciphertext copied into another row does not open there.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const VERSION = 'v1';
const IV_BYTES = 12;

/** A stored secret that no configured key opens: sealed under a key the server no longer has. */
export class SecretUnreadable extends Error {}

/** One 32-byte key and its public fingerprint. */
interface SecretKey {
  bytes: Buffer;
  id: string;
}

export class SecretBox {
  private readonly current: SecretKey;
  private readonly previous: SecretKey | undefined;

  /** `current` and `previous` as configured: 32 bytes as base64 or hex, or any text of 32 characters or more. */
  constructor(current: string, previous?: string) {
    this.current = secretKeyOf(current);
    this.previous = previous === undefined ? undefined : secretKeyOf(previous);
  }

  /** `plaintext` sealed under the current key, bound to `context` (where it is stored). */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.bytes, iv);
    cipher.setAAD(Buffer.from(context));
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.current.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), sealed.toString('base64url')].join('.');
  }

  /** The plaintext of a sealed value; SecretUnreadable when no configured key opens it. */
  open(sealed: string, context: string): string {
    const [version, keyId, iv, tag, data] = sealed.split('.');
    if (version !== VERSION || !keyId || !iv || !tag || data === undefined) throw new SecretUnreadable('the stored secret is not in a format this server reads');
    const key = [this.current, this.previous].find((candidate) => candidate?.id === keyId);
    if (!key) throw new SecretUnreadable('the stored secret was encrypted under another SPANTREE_SECRET_KEY');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnreadable('the stored secret does not decrypt: it was changed, or moved from another record');
    }
  }

  /** Whether a sealed value is under a key other than the current one (to be re-sealed after a rotation). */
  isStale(sealed: string): boolean {
    return sealed.split('.')[1] !== this.current.id;
  }
}

/** 32 key bytes from configured text: base64 or hex of exactly 32 bytes as they are, other text through HKDF. */
function secretKeyOf(text: string): SecretKey {
  const trimmed = text.trim();
  let bytes: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) bytes = Buffer.from(trimmed, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) bytes = Buffer.from(trimmed, 'base64');
  if (bytes?.length !== 32) bytes = Buffer.from(hkdfSync('sha256', trimmed, 'spantree', 'secret key', 32));
  // The fingerprint names the key in stored values without telling anything about it.
  const id = createHmac('sha256', bytes).update('spantree secret key fingerprint').digest('base64url').slice(0, 12);
  return { bytes, id };
}

/** Where the server's secret key came from, for the start-up message. */
export interface OpenedSecretBox {
  box: SecretBox;
  /** The key file a first start wrote, if it wrote one. */
  createdFile: string | undefined;
}

/**
 * The server's secret box: SPANTREE_SECRET_KEY when set; else the key in `keyFile`, generated there
 * (mode 0600) at first start. Losing that file makes stored provider keys unreadable, which the
 * docs say next to backups.
 */
export async function openSecretBox(settings: { key: string | undefined; previous: string | undefined; keyFile: string }): Promise<OpenedSecretBox> {
  if (settings.key !== undefined) return { box: new SecretBox(settings.key, settings.previous), createdFile: undefined };
  const stored = (await readFile(settings.keyFile, 'utf8').catch(() => ''))
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line && !line.startsWith('#'));
  if (stored) return { box: new SecretBox(stored, settings.previous), createdFile: undefined };
  const key = randomBytes(32).toString('base64');
  await mkdir(dirname(settings.keyFile), { recursive: true });
  await writeFile(settings.keyFile, `${key}\n# Spantree secret key: encrypts model provider keys at rest. Back it up with the database; without it they cannot be read.\n`, {
    mode: 0o600,
    flag: 'wx', // two servers starting at once: the second reads the first one's key
  }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  await chmod(settings.keyFile, 0o600);
  const written = (await readFile(settings.keyFile, 'utf8')).split('\n')[0]!.trim();
  return { box: new SecretBox(written, settings.previous), createdFile: written === key ? settings.keyFile : undefined };
}
