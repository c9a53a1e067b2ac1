/**
 * Which addresses the playground may call. A provider's base URL is chosen by whoever holds an ADMIN
 * key, and the server calls it: without a policy, that is a way into whatever the server can reach
 * (the cloud's metadata service, a database on the private network).
 *
 * - Link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254) are always
 *   refused, as are addresses that name no host (0.0.0.0, ::) and multicast.
 * - Loopback and private ranges are refused unless PLAYGROUND_ALLOW_PRIVATE_NETWORKS=true (Ollama or
 *   vLLM on the same machine or network).
 *
 * The check is made where the connection is made: on every address DNS gives for the host (the
 * lookup of the HTTP agent), so a name that resolves to a refused address, or starts to (DNS
 * rebinding), is refused too; on the host of an IP-literal URL, which is never looked up; and on each
 * redirect's target, followed by hand for that reason.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';

/** A connection the policy refused: the address and why. */
export class AddressRefused extends Error {
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`${address} is ${reason}`);
  }
}

const ALWAYS_REFUSED: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['169.254.0.0', 16, 'ipv4', 'a link-local address (where clouds serve instance metadata), which the playground never calls'],
  ['0.0.0.0', 8, 'ipv4', 'an address that names no host'],
  ['224.0.0.0', 4, 'ipv4', 'a multicast address'],
  ['fe80::', 10, 'ipv6', 'a link-local address, which the playground never calls'],
  ['fd00:ec2::254', 128, 'ipv6', "the cloud's instance metadata address, which the playground never calls"],
  ['::', 128, 'ipv6', 'an address that names no host'],
  ['ff00::', 8, 'ipv6', 'a multicast address'],
];

const PRIVATE: [string, number, 'ipv4' | 'ipv6'][] = [
  ['127.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
];

const PRIVATE_REASON = 'on a loopback or private network; set PLAYGROUND_ALLOW_PRIVATE_NETWORKS=true to let the playground call it (Ollama on the same machine)';

/** The most redirects a provider call follows, each checked like the first address. */
const MAX_REDIRECTS = 3;

export class NetworkPolicy {
  private readonly refused = ALWAYS_REFUSED.map(([network, prefix, family, reason]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, family);
    return { list, reason };
  });
  private readonly privateRanges = new BlockList();
  /** The HTTP agent every provider call goes through: its lookup applies the policy to each address. */
  private readonly agent: Agent;

  constructor(readonly allowPrivateNetworks: boolean) {
    for (const [network, prefix, family] of PRIVATE) this.privateRanges.addSubnet(network, prefix, family);
    this.agent = new Agent({ connect: { lookup: this.lookup } });
  }

  /** Why `address` may not be called, or null when it may. */
  refusalOf(address: string): string | null {
    const { ip, family } = normalized(address);
    for (const { list, reason } of this.refused) if (list.check(ip, family)) return reason;
    if (!this.allowPrivateNetworks && this.privateRanges.check(ip, family)) return PRIVATE_REASON;
    return null;
  }

  /** Refuses a URL whose host is a refused IP address (or `localhost` when private networks are off); names are checked when they resolve. */
  checkUrl(url: URL): void {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      const reason = this.refusalOf(host);
      if (reason) throw new AddressRefused(host, reason);
    } else if (!this.allowPrivateNetworks && (host === 'localhost' || host.endsWith('.localhost'))) {
      throw new AddressRefused(host, PRIVATE_REASON);
    }
  }

  /** dns.lookup, refusing when any address the name resolves to is refused. */
  private readonly lookup = (hostname: string, options: LookupOptions, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      for (const { address } of addresses) {
        const reason = this.refusalOf(address);
        if (reason) return callback(new AddressRefused(`${hostname} (${address})`, reason), []);
      }
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };

  /**
   * A fetch for the provider clients (`openai`, `@anthropic-ai/sdk` take one): undici's, through the
   * guarded agent, following redirects by hand so that each target is checked before it is called.
   */
  readonly fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    let url = new URL(input instanceof Request ? input.url : input);
    let request = init;
    for (let hop = 0; ; hop++) {
      this.checkUrl(url);
      const response = await undiciFetch(url, { ...(request as object), redirect: 'manual', dispatcher: this.agent } as never);
      const location = response.headers.get('location');
      if (![301, 302, 303, 307, 308].includes(response.status) || !location) return response as unknown as Response;
      if (hop === MAX_REDIRECTS) throw new AddressRefused(url.host, `redirecting more than ${MAX_REDIRECTS} times`);
      await response.body?.cancel();
      url = new URL(location, url);
      // 303 (and 301/302 after a POST, as browsers do) turns into a GET without a body.
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && request.method === 'POST')) {
        request = { ...request, method: 'GET', body: undefined };
      }
    }
  };

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** An IPv4-mapped IPv6 address (::ffff:169.254.169.254) is checked as the IPv4 address it is. */
function normalized(address: string): { ip: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { ip: mapped[1]!, family: 'ipv4' };
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex) {
    const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
    return { ip: [high >> 8, high & 255, low >> 8, low & 255].join('.'), family: 'ipv4' };
  }
  return { ip: address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}
