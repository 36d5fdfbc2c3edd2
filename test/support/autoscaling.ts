// Helpers for tests of the Autoscaling API (`/api/2.0/postgres`) against the workspace under test:
// raw requests with the SDK's auth (the JS SDK 0.17 has no postgres service), operations waited on
// as the Python SDK's waiters do, and Postgres logins on an endpoint with a minted credential.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { RawReply, WorkspaceUnderTest } from './workspace-under-test';

export interface OperationBody {
  name: string;
  done?: boolean;
  response?: Record<string, unknown>;
  error?: { error_code: string; message: string };
}

/** Fails with the reply when the status is not `expected`. */
export function expectStatus(reply: RawReply, expected: number): Record<string, unknown> {
  if (reply.status !== expected) throw new Error(`expected HTTP ${expected}, got ${reply.status}: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** Polls the operation until `done`, as `CreateProjectOperation.wait` does; returns its last state. */
export async function waitForOperation(target: WorkspaceUnderTest, started: RawReply, timeoutMs = 120_000): Promise<OperationBody> {
  let operation = expectStatus(started, 200) as unknown as OperationBody;
  const deadline = Date.now() + timeoutMs;
  while (!operation.done) {
    if (Date.now() > deadline) throw new Error(`operation ${operation.name} not done after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    operation = expectStatus(await target.request('GET', `/api/2.0/postgres/${operation.name}`), 200) as unknown as OperationBody;
  }
  return operation;
}

/** The operation's response; fails with its error (and, for an internal error, the emulator log's last lines). */
export async function completed(target: WorkspaceUnderTest, started: RawReply): Promise<Record<string, unknown>> {
  const operation = await waitForOperation(target, started);
  if (operation.error) {
    let log = '';
    if (operation.error.error_code === 'INTERNAL_ERROR' && target.emulator) {
      const lines = (await readFile(join(target.emulator.dataDir, 'emulator.log'), 'utf8').catch(() => '')).trimEnd().split('\n');
      log = `\nlast lines of the emulator log:\n${lines.slice(-40).join('\n')}`;
    }
    throw new Error(`operation ${operation.name} failed: [${operation.error.error_code}] ${operation.error.message}${log}`);
  }
  if (!operation.response) throw new Error(`operation ${operation.name} finished without a response`);
  return operation.response;
}

export async function createProject(target: WorkspaceUnderTest, projectId: string, body: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return completed(target, await target.request('POST', `/api/2.0/postgres/projects?project_id=${projectId}`, body));
}

export async function getEndpoint(target: WorkspaceUnderTest, name: string): Promise<{ status: { current_state: string; hosts: { host: string; read_write_pooled_host?: string; read_only_pooled_host?: string } } }> {
  return expectStatus(await target.request('GET', `/api/2.0/postgres/${name}`), 200) as never;
}

export async function mintCredential(target: WorkspaceUnderTest, endpoint: string): Promise<{ token: string; expire_time: string }> {
  return expectStatus(await target.request('POST', '/api/2.0/postgres/credentials', { endpoint }), 200) as never;
}

/** A client logged in to the endpoint as `user` with a fresh credential (TLS, verified against the emulator's CA). */
export async function connectEndpoint(
  target: WorkspaceUnderTest,
  endpoint: string,
  user: string,
  options: { database?: string; pooled?: boolean; password?: string } = {},
): Promise<pg.Client> {
  const { status } = await getEndpoint(target, endpoint);
  const host = options.pooled ? (status.hosts.read_write_pooled_host ?? status.hosts.read_only_pooled_host) : status.hosts.host;
  const password = options.password ?? (await mintCredential(target, endpoint)).token;
  const ca = target.emulator ? await readFile(target.emulator.caCertPath, 'utf8') : undefined;
  const client = new pg.Client({ host, port: 5432, user, password, database: options.database ?? 'databricks_postgres', ssl: ca ? { ca } : { rejectUnauthorized: true } });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** A request as another of the emulator's identities (its PAT), for permission tests. */
export async function requestAs(target: WorkspaceUnderTest, token: string, method: string, path: string, body?: unknown): Promise<RawReply> {
  const response = await fetch(`${target.host}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
