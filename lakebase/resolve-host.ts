// Turning an instance's host name into something `pg` can connect to.
//
// Lakebase host names are long (`instance-<uuid>.database.cloud.databricks.com`), and the macOS
// system resolver is known to fail on some of them while the DNS servers answer fine (domain notes,
// lakebase.md "Connecting to Postgres"). The workaround Databricks documents for Node: resolve the
// name with c-ares (`dns.resolve4`, which asks the DNS servers directly instead of going through
// `getaddrinfo`), connect to the IP, and keep the name for TLS SNI and certificate checks
// (`ssl.servername`). When the system resolver works we keep the name as it is, so nothing
// changes for the common case.
import { lookup as systemLookup, Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { LakebaseError } from './errors';

export type ResolutionRoute = 'ip-literal' | 'system' | 'c-ares';

export interface ResolvedHost {
  /** What to connect to: the name itself when the system resolver knows it, else an IP address. */
  host: string;
  /** The name for TLS SNI and certificate checks when `host` is an address standing in for it. */
  servername?: string;
  /** How the name was resolved (shown in diagnostics). */
  route: ResolutionRoute;
}

export interface HostResolverOptions {
  /** The system resolver (`getaddrinfo`); injectable so that tests can use the real one or not. */
  lookup?: (hostname: string) => Promise<unknown>;
  /** DNS servers for the fallback (`host` or `host:port`); default: the system's configured ones. */
  dnsServers?: readonly string[];
  /** Per-query timeout of the fallback resolver, in milliseconds. */
  timeoutMs?: number;
}

export type HostResolver = (hostname: string) => Promise<ResolvedHost>;

export function createHostResolver(options: HostResolverOptions = {}): HostResolver {
  const lookup = options.lookup ?? ((hostname: string) => systemLookup(hostname));
  return async (hostname) => {
    if (isIP(hostname) !== 0) return { host: hostname, route: 'ip-literal' };
    let systemError: unknown;
    try {
      await lookup(hostname);
      // pg resolves it again itself; the name stays the host so SNI works without help.
      return { host: hostname, route: 'system' };
    } catch (error) {
      systemError = error;
    }
    try {
      const address = await resolveWithCares(hostname, options);
      return { host: address, servername: hostname, route: 'c-ares' };
    } catch (caresError) {
      throw new LakebaseError(
        'HOST_NOT_FOUND',
        `Cannot resolve the host name ${hostname}: the system resolver said ` +
          `${errorCode(systemError)} and a direct DNS query said ${errorCode(caresError)}.`,
        {
          hint:
            'Check the instance name and that this machine can reach the workspace network ' +
            `(VPN, private link); \`nslookup ${hostname}\` shows what DNS answers.`,
          cause: caresError,
        },
      );
    }
  };
}

/** Resolves once with default options (system resolver, then c-ares with the system's servers). */
export function resolveHost(hostname: string, options?: HostResolverOptions): Promise<ResolvedHost> {
  return createHostResolver(options)(hostname);
}

async function resolveWithCares(hostname: string, options: HostResolverOptions): Promise<string> {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 2_000, tries: 2 });
  if (options.dnsServers) resolver.setServers([...options.dnsServers]);
  try {
    const [address] = await resolver.resolve4(hostname);
    if (address) return address;
  } catch (error) {
    // A name with only AAAA records answers ENODATA for A; anything else is a real failure.
    if (errorCode(error) !== 'ENODATA') throw error;
  }
  const [address] = await resolver.resolve6(hostname);
  if (!address) throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENODATA' });
  return address;
}

function errorCode(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return error instanceof Error ? error.message : String(error);
}
