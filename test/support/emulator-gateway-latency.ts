// How much the login gateway costs a query: `SELECT 1` round trips through the gateway (TLS ends in
// Node, bytes relayed to PostgreSQL's Unix socket) against the same PostgreSQL's own TLS over TCP
// (`hostssl … trust`), side by side in one run, and the same for a whole login. The gateway runs in
// a process of its own, as it does in the emulator (which is not the client's process). A
// measurement to run by hand and quote, not a test (timing goals live in benchmarks, never in
// assertions):
//
//   npx tsc -p . && node dist/test/support/emulator-gateway-latency.js [round trips, default 5000]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { startLoginGateway } from '../../emulator/postgres/login-gateway';
import { startReferencePostgres } from './emulator-reference-postgres';

interface GatewayProcessConfig {
  serverSocketPath: string;
  certificate: { certPem: string; keyPem: string };
}

/** In the child: a gateway that accepts every password; prints its port, runs until stdin closes. */
async function serveGateway(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const [line] = (await once(lines, 'line')) as [string];
  const config = JSON.parse(line) as GatewayProcessConfig;
  const gateway = await startLoginGateway({ host: '127.0.0.1', port: 0, ...config, checkPassword: () => true });
  process.stdout.write(`${gateway.port}\n`);
  await once(lines, 'close');
  await gateway.close();
}

async function startGatewayProcess(config: GatewayProcessConfig): Promise<{ port: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [__filename, '--gateway'], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.write(`${JSON.stringify(config)}\n`);
  const [portLine] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return {
    port: Number(portLine),
    async stop() {
      child.stdin.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

interface Summary {
  medianMicros: number;
  p99Micros: number;
}

function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (fraction: number) => sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] * 1000;
  return { medianMicros: Math.round(at(0.5)), p99Micros: Math.round(at(0.99)) };
}

async function main(): Promise<void> {
  const roundTrips = Number(process.argv[2] ?? 5000);
  const reference = await startReferencePostgres({ hba: ['local all all trust', 'hostssl all all all trust'] });
  const gateway = await startGatewayProcess({
    certificate: reference.authority.issueServerCertificate({ dnsNames: [], ipAddresses: ['127.0.0.1'] }),
    serverSocketPath: reference.socketPath,
  });
  try {
    await reference.admin('CREATE ROLE bench LOGIN');
    const targets = {
      'PostgreSQL TLS': { host: reference.host, port: reference.port },
      gateway: { host: '127.0.0.1', port: gateway.port },
    };
    const config = (target: { host: string; port: number }): pg.ClientConfig => ({
      ...target,
      user: 'bench',
      password: 'any',
      database: 'postgres',
      ssl: { ca: reference.authority.certPem },
    });
    const query: Record<string, number[]> = { 'PostgreSQL TLS': [], gateway: [] };
    const login: Record<string, number[]> = { 'PostgreSQL TLS': [], gateway: [] };
    const clients = Object.fromEntries(
      await Promise.all(
        Object.entries(targets).map(async ([name, target]) => {
          const client = new pg.Client(config(target));
          await client.connect();
          for (let warmUp = 0; warmUp < 200; warmUp++) await client.query('SELECT 1');
          return [name, client] as const;
        }),
      ),
    );
    // Alternating blocks, so that both see the same machine (two cores shared with other work).
    const block = 250;
    for (let done = 0; done < roundTrips; done += block) {
      for (const name of Object.keys(targets)) {
        for (let index = 0; index < block; index++) {
          const start = performance.now();
          await clients[name].query('SELECT 1');
          query[name].push(performance.now() - start);
        }
      }
    }
    for (let attempt = 0; attempt < 40; attempt++) {
      for (const [name, target] of Object.entries(targets)) {
        const start = performance.now();
        const client = new pg.Client(config(target));
        await client.connect();
        login[name].push(performance.now() - start);
        await client.end();
      }
    }
    await Promise.all(Object.values(clients).map((client) => client.end()));

    const rows = Object.keys(targets).map((name) => ({ name, query: summarize(query[name]), login: summarize(login[name]) }));
    const [direct, viaGateway] = rows;
    process.stdout.write(`SELECT 1 round trips: ${roundTrips} each; logins: ${login.gateway.length} each\n`);
    process.stdout.write('                    SELECT 1 median   p99      login median   p99\n');
    for (const row of rows) {
      process.stdout.write(
        `${row.name.padEnd(18)}  ${`${row.query.medianMicros} µs`.padStart(13)} ${`${row.query.p99Micros} µs`.padStart(8)}  ${`${row.login.medianMicros} µs`.padStart(13)} ${`${row.login.p99Micros} µs`.padStart(8)}\n`,
      );
    }
    process.stdout.write(
      `gateway / PostgreSQL: SELECT 1 median ×${(viaGateway.query.medianMicros / direct.query.medianMicros).toFixed(2)} ` +
        `(+${viaGateway.query.medianMicros - direct.query.medianMicros} µs), login median ×${(viaGateway.login.medianMicros / direct.login.medianMicros).toFixed(2)}\n`,
    );
  } finally {
    await gateway.stop();
    await reference.stop();
  }
}

if (require.main === module) {
  (process.argv[2] === '--gateway' ? serveGateway() : main()).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
