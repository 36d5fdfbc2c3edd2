// The workspace the contract tests run against: by default a fresh local emulator in a temporary
// data directory; a real Databricks workspace when `DATABRICKS_HOST` and credentials are set (the
// same tests then check the real service, Azurite-style). On a real workspace, tests that create
// instances (they cost money) run only with `LAKEBASE_TEST_CREATE_INSTANCES=1`; emulator-only
// assertions are skipped there.
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { WorkspaceClient } from '@databricks/sdk-experimental';
import type { RunningEmulator } from '../../emulator/contracts';
import { startEmulator } from '../../emulator/index';

export interface RawReply {
  status: number;
  body: Record<string, unknown>;
}

export interface WorkspaceUnderTest {
  kind: 'emulator' | 'real';
  host: string;
  /** The SDK as the main identity (the emulator's default user, by PAT). */
  client: WorkspaceClient;
  /** OAuth M2M credentials of a service principal, when known. */
  servicePrincipal?: { clientId: string; clientSecret: string };
  /** Set in emulator mode. */
  emulator?: RunningEmulator;
  /** Always in the emulator; on a real workspace only with LAKEBASE_TEST_CREATE_INSTANCES=1. */
  mayCreateInstances: boolean;
  /**
   * A request with the SDK's authentication and our own `fetch`: the SDK 0.17 drops the body of
   * every PATCH (its api-client attaches bodies to POST and PUT only), so updates go through here.
   */
  request(method: string, path: string, body?: unknown): Promise<RawReply>;
  /** A name no earlier run used: instances on a real workspace outlive failed runs. */
  uniqueName(prefix: string): string;
  stop(): Promise<void>;
}

export function realWorkspaceConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.DATABRICKS_HOST && (env.DATABRICKS_TOKEN || (env.DATABRICKS_CLIENT_ID && env.DATABRICKS_CLIENT_SECRET)));
}

function withRequest(client: WorkspaceClient, host: string) {
  return async (method: string, path: string, body?: unknown): Promise<RawReply> => {
    const headers = new Headers({ Accept: 'application/json' });
    if (body !== undefined) headers.set('Content-Type', 'application/json');
    await client.config.authenticate(headers);
    const response = await fetch(`${host}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
}

function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex').replace(/\d/g, (digit) => 'ghijklmnop'[Number(digit)])}`;
}

export async function openWorkspaceUnderTest(
  options: { tokenTtlSeconds?: number; transitionDelayMs?: number; minSuspendTimeoutSeconds?: number; serverRestartDelaysMs?: readonly number[] } = {},
): Promise<WorkspaceUnderTest> {
  if (realWorkspaceConfigured()) {
    const client = new WorkspaceClient({});
    const host = (await client.config.getHost()).toString().replace(/\/$/, '');
    const { DATABRICKS_CLIENT_ID: clientId, DATABRICKS_CLIENT_SECRET: clientSecret } = process.env;
    return {
      kind: 'real',
      host,
      client,
      ...(clientId && clientSecret ? { servicePrincipal: { clientId, clientSecret } } : {}),
      mayCreateInstances: process.env.LAKEBASE_TEST_CREATE_INSTANCES === '1',
      request: withRequest(client, host),
      uniqueName,
      stop: async () => undefined,
    };
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'lakebase-contract-'));
  const emulator = await startEmulator({
    dataDir,
    port: 0,
    transitionDelayMs: options.transitionDelayMs ?? 0,
    tokenTtlSeconds: options.tokenTtlSeconds,
    minSuspendTimeoutSeconds: options.minSuspendTimeoutSeconds,
    ...(options.serverRestartDelaysMs !== undefined ? { serverRestartDelaysMs: options.serverRestartDelaysMs } : {}),
  });
  const client = new WorkspaceClient({ host: emulator.host, token: emulator.user.token, authType: 'pat' });
  return {
    kind: 'emulator',
    host: emulator.host,
    client,
    servicePrincipal: { clientId: emulator.servicePrincipal.applicationId, clientSecret: emulator.servicePrincipal.clientSecret },
    emulator,
    mayCreateInstances: true,
    request: withRequest(client, emulator.host),
    uniqueName,
    async stop() {
      await emulator.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `read` until `done` holds (state changes take a while, on the real service minutes). */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A session on a Provisioned instance's read-write address as `user`, with a credential minted by
 * `client` and TLS checked against `caCertPath` (the emulator's CA).
 */
export async function loginToInstance(
  client: WorkspaceClient,
  instance: { name: string; readWriteDns: string },
  user: string,
  caCertPath: string,
): Promise<pg.Client> {
  const credential = await client.database.generateDatabaseCredential({ instance_names: [instance.name], request_id: `login-${randomBytes(4).toString('hex')}` });
  const session = new pg.Client({
    host: instance.readWriteDns,
    port: 5432,
    user,
    password: credential.token,
    database: 'databricks_postgres',
    ssl: { ca: readFileSync(caCertPath, 'utf8') },
  });
  await session.connect();
  return session;
}
