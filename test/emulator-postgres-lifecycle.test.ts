// An instance server's life: stopped servers refuse connections, restarted ones keep their data,
// a server left running by a killed emulator is taken over, and the admin API (roles, databases)
// reports what callers must act on with stable error codes.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { allocateLoopbackAddress } from '../emulator/postgres/addresses';
import { createInstanceServer, InstanceServer } from '../emulator/postgres/instance-server';
import type { ServerHealth } from '../emulator/postgres/supervision';
import { startTestInstance, TestInstance } from './support/emulator-instance';

const OWNER = 'owner@example.com';
const OWNER_TOKEN = 'owner-token-7c1d';

let instance: TestInstance;

beforeAll(async () => {
  instance = await startTestInstance();
  await instance.server.createRole(OWNER, 'USER', { superuser: true });
  instance.grant(OWNER, OWNER_TOKEN);
});

afterAll(async () => {
  await instance?.stop();
});

async function query<T extends pg.QueryResultRow>(sql: string, database?: string): Promise<T[]> {
  const client = new pg.Client(instance.connection(OWNER, OWNER_TOKEN, database));
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function connectionError(): Promise<{ code?: string }> {
  return query('SELECT 1').then(
    () => {
      throw new Error('the connection was expected to fail');
    },
    (error: { code?: string }) => error,
  );
}

/** A second server object for the same directory: what a restarted emulator process creates. */
function sameInstanceAgain(): InstanceServer {
  return createInstanceServer({
    dataDir: join(instance.root, 'instance'),
    address: instance.address,
    port: instance.port,
    certificate: instance.authority.issueServerCertificate({ dnsNames: [], ipAddresses: [instance.address] }),
    checkPassword: instance.checkPassword,
    log: (line) => instance.log.push(line),
  });
}

async function postmasterPid(): Promise<number> {
  return Number((await readFile(join(instance.root, 'instance', 'pgdata', 'postmaster.pid'), 'utf8')).split('\n')[0]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH: the process is gone, which is what the caller asks about
  }
}

describe('stop and start', () => {
  test('a stopped server refuses connections; a restarted one keeps its data', async () => {
    await query('CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$survives a restart$$)');
    await instance.server.stop();
    expect(instance.server.running).toBe(false);
    expect((await connectionError()).code).toBe('ECONNREFUSED');
    await instance.server.start();
    expect(instance.server.running).toBe(true);
    expect(await query('SELECT v FROM kept')).toEqual([{ v: 'survives a restart' }]);
  });

  test('start and stop are idempotent and run in call order', async () => {
    await Promise.all([instance.server.start(), instance.server.stop(), instance.server.stop(), instance.server.start()]);
    expect(instance.server.running).toBe(true);
    expect(await query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  test('the data and pg_hba.conf are private to the server, and no TLS key is left on disk', async () => {
    const modes = await Promise.all(['instance', 'instance/pgdata/pg_hba.conf'].map(async (path) => (await stat(join(instance.root, path))).mode & 0o777));
    expect(modes).toEqual([0o700, 0o600]);
    // The login gateway keeps the key in memory; an older emulator's key file is removed at start.
    await expect(stat(join(instance.root, 'instance', 'tls'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('the TLS key and the tokens stay out of inspect, JSON and the log', async () => {
    const { inspect } = await import('node:util');
    const keyLine = instance.authority.issueServerCertificate({ dnsNames: [], ipAddresses: [instance.address] }).keyPem.split('\n')[1];
    expect(keyLine.length).toBeGreaterThan(20);
    await query('SELECT 1');
    const wrong = new pg.Client(instance.connection(OWNER, 'a-wrong-token-8f3e'));
    await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
    for (const shown of [inspect(instance.server, { showHidden: true, depth: 5 }), JSON.stringify(instance.server), instance.log.join('\n')]) {
      expect(shown).not.toContain(OWNER_TOKEN);
      expect(shown).not.toContain('a-wrong-token-8f3e');
      expect(shown).not.toMatch(/PRIVATE KEY/);
    }
  });
});

describe('a server left behind by an emulator that was killed', () => {
  test('is stopped and replaced by the next start on the same directory, with the data intact', async () => {
    await query('CREATE TABLE left_behind (v int); INSERT INTO left_behind VALUES (1)');
    const leftoverPid = await postmasterPid();
    // The first server object is abandoned without stop(), as a killed emulator would leave it.
    const successor = sameInstanceAgain();
    await successor.start();
    try {
      expect(isAlive(leftoverPid)).toBe(false);
      expect(await postmasterPid()).not.toBe(leftoverPid);
      expect(await query('SELECT v FROM left_behind')).toEqual([{ v: 1 }]);
      expect(instance.log.some((line) => line.includes(`stopping a server left running by an earlier emulator process (pid ${leftoverPid})`))).toBe(true);
    } finally {
      await successor.stop();
    }
    // The abandoned object noticed that its server went away.
    expect(instance.server.running).toBe(false);
    await instance.server.start();
  });

  test('a server killed outright leaves a stale postmaster.pid that the next start clears up', async () => {
    const pid = await postmasterPid();
    process.kill(pid, 'SIGKILL');
    await expect.poll(() => instance.server.running).toBe(false);
    // Supervised, it is started again by itself (see 'supervision' below); a start waits for that.
    await instance.server.start();
    expect(await postmasterPid()).not.toBe(pid);
    expect(await query('SELECT count(*)::int AS n FROM left_behind')).toEqual([{ n: 1 }]);
  });

  test('a postmaster.pid naming a process that is not this server is removed', async () => {
    await instance.server.stop();
    const pidFile = join(instance.root, 'instance', 'pgdata', 'postmaster.pid');
    // This test process is alive, but it is not a postmaster of this data directory.
    await writeFile(pidFile, `${process.pid}\n${join(instance.root, 'instance', 'pgdata')}\n`);
    await instance.server.start();
    expect(await postmasterPid()).not.toBe(process.pid);
    expect(isAlive(process.pid)).toBe(true);
  });
});

// Issue 12, item 2: a server whose PostgreSQL died stayed down, and its owner never heard of it.
describe('supervision', () => {
  /** The instance's server, as an object that reports its health and restarts after `delays`. */
  function supervised(delays: number[], health: ServerHealth[]): InstanceServer {
    return createInstanceServer({
      dataDir: join(instance.root, 'instance'),
      address: instance.address,
      port: instance.port,
      certificate: instance.authority.issueServerCertificate({ dnsNames: [], ipAddresses: [instance.address] }),
      checkPassword: instance.checkPassword,
      log: (line) => instance.log.push(line),
      restartDelaysMs: delays,
      onHealth: (event) => health.push(event),
    });
  }

  test('a server whose PostgreSQL is killed starts it again by itself, and says so', async () => {
    await instance.server.stop();
    const health: ServerHealth[] = [];
    const server = supervised([100, 100], health);
    await server.start();
    try {
      const pid = await postmasterPid();
      process.kill(pid, 'SIGKILL');
      await expect.poll(() => health.map((event) => event.state), { timeout: 30_000 }).toEqual(['restarting', 'recovered']);
      expect(health[0]).toEqual({ state: 'restarting', cause: 'stopped unexpectedly (killed by SIGKILL)', attempt: 1, attempts: 2 });
      expect(server.running).toBe(true);
      expect(await postmasterPid()).not.toBe(pid);
      expect(await query('SELECT count(*)::int AS n FROM left_behind')).toEqual([{ n: 1 }]);
    } finally {
      await server.stop();
    }
  });

  test('a stop while it waits to restart ends the restarts; without restarts a crash leaves it down', async () => {
    const health: ServerHealth[] = [];
    const patient = supervised([60_000], health);
    await patient.start();
    process.kill(await postmasterPid(), 'SIGKILL');
    await expect.poll(() => health.length, { timeout: 30_000 }).toBe(1);
    // Not a minute: the stop ends the wait for the restart.
    await patient.stop();
    expect(patient.running).toBe(false);
    expect(health.map((event) => event.state)).toEqual(['restarting']);

    const unsupervised = supervised([], health);
    await unsupervised.start();
    process.kill(await postmasterPid(), 'SIGKILL');
    await expect.poll(() => unsupervised.running).toBe(false);
    expect(health).toHaveLength(1);
    await instance.server.start();
  });
});

describe('roles and databases', () => {
  test('createRole lists the role with its kind, membership and attributes', async () => {
    await instance.server.createRole('reader@example.com', 'USER');
    await instance.server.createRole('analysts', 'GROUP', { attributes: { createdb: true } });
    const roles = await instance.server.listRoles();
    expect(roles).toEqual([
      { name: 'analysts', kind: 'GROUP', superuser: false, attributes: { createdb: true, createrole: false, bypassrls: false } },
      { name: OWNER, kind: 'USER', superuser: true, attributes: { createdb: true, createrole: true, bypassrls: true } },
      { name: 'reader@example.com', kind: 'USER', superuser: false, attributes: { createdb: false, createrole: false, bypassrls: false } },
    ]);
  });

  test('creating an existing role is ROLE_EXISTS; dropping an unknown or non-identity role is ROLE_NOT_FOUND', async () => {
    await expect(instance.server.createRole(OWNER, 'USER')).rejects.toMatchObject({ code: 'ROLE_EXISTS' });
    await expect(instance.server.dropRole('nobody@example.com')).rejects.toMatchObject({ code: 'ROLE_NOT_FOUND' });
    await expect(instance.server.dropRole('databricks_superuser')).rejects.toMatchObject({ code: 'ROLE_NOT_FOUND' });
    await expect(instance.server.createRole('x'.repeat(64), 'USER')).rejects.toMatchObject({ code: 'INVALID_NAME' });
  });

  test('a role that owns objects is ROLE_IN_USE unless its objects are reassigned', async () => {
    const user = 'builder@example.com';
    await instance.server.createRole(user, 'USER');
    instance.grant(user, 'builder-token');
    await query(`GRANT CREATE ON SCHEMA public TO "${user}"`);
    const client = new pg.Client(instance.connection(user, 'builder-token'));
    await client.connect();
    await client.query('CREATE TABLE built_by_builder (v int)');
    await client.end();
    await expect(instance.server.dropRole(user)).rejects.toMatchObject({ code: 'ROLE_IN_USE' });
    await instance.server.dropRole(user, { reassignOwnedTo: OWNER });
    expect((await instance.server.listRoles()).map((role) => role.name)).not.toContain(user);
    expect(await query("SELECT tableowner FROM pg_tables WHERE tablename = 'built_by_builder'")).toEqual([{ tableowner: OWNER }]);
  });

  test('createDatabase makes a database owned by databricks_superuser; a second time is DATABASE_EXISTS', async () => {
    expect(await instance.server.databaseExists('analytics')).toBe(false);
    await instance.server.createDatabase('analytics');
    expect(await instance.server.databaseExists('analytics')).toBe(true);
    await expect(instance.server.createDatabase('analytics')).rejects.toMatchObject({ code: 'DATABASE_EXISTS' });
    expect(await query("SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'analytics'")).toEqual([{ owner: 'databricks_superuser' }]);
    expect(await query('SELECT current_database() AS db', 'analytics')).toEqual([{ db: 'analytics' }]);
  });

  test('admin calls on a stopped server fail with NOT_RUNNING', async () => {
    await instance.server.stop();
    try {
      await expect(instance.server.listRoles()).rejects.toMatchObject({ code: 'NOT_RUNNING' });
    } finally {
      await instance.server.start();
    }
  });
});

describe('new instances', () => {
  test('started side by side, they are made from one template and share nothing but its contents', async () => {
    const parent = join(instance.root, 'more-instances');
    const taken = new Set([instance.address]);
    const servers: InstanceServer[] = [];
    for (const name of ['first', 'second']) {
      const address = await allocateLoopbackAddress(taken);
      taken.add(address);
      servers.push(
        createInstanceServer({
          dataDir: join(parent, name),
          address,
          port: 5432,
          certificate: instance.authority.issueServerCertificate({ dnsNames: [], ipAddresses: [address] }),
          checkPassword: instance.checkPassword,
        }),
      );
    }
    await Promise.all(servers.map((server) => server.start()));
    try {
      expect((await readdir(join(parent, '.instance-template'))).filter((entry) => entry.startsWith('pgdata-'))).toHaveLength(1);
      await servers[0].createDatabase('only_in_first');
      await servers[1].createRole('second-only@example.com', 'USER');
      expect(await Promise.all(servers.map((server) => server.databaseExists('only_in_first')))).toEqual([true, false]);
      expect(await Promise.all(servers.map((server) => server.databaseExists('databricks_postgres')))).toEqual([true, true]);
      expect((await servers[0].listRoles()).map((role) => role.name)).toEqual([]);
      expect((await servers[1].listRoles()).map((role) => role.name)).toEqual(['second-only@example.com']);
    } finally {
      await Promise.all(servers.map((server) => server.destroy()));
    }
  });

  test('an address where something else listens on 5432 is ADDRESS_IN_USE, so the caller can pick another', async () => {
    const address = await allocateLoopbackAddress(new Set([instance.address]));
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen({ host: address, port: 5432 }, resolve));
    const server = createInstanceServer({
      dataDir: join(instance.root, 'more-instances', 'squatted'),
      address,
      port: 5432,
      certificate: instance.authority.issueServerCertificate({ dnsNames: [], ipAddresses: [address] }),
      checkPassword: instance.checkPassword,
    });
    try {
      await expect(server.start()).rejects.toMatchObject({ code: 'ADDRESS_IN_USE', message: expect.stringContaining(`${address}:5432`) });
      expect(server.running).toBe(false);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
      await server.destroy();
    }
  });

  test('without a template, initdb and the bootstrap give the same Lakebase shape', async () => {
    const address = await allocateLoopbackAddress(new Set([instance.address]));
    const server = createInstanceServer({
      dataDir: join(instance.root, 'no-template', 'instance'),
      address,
      port: 5432,
      certificate: instance.authority.issueServerCertificate({ dnsNames: [], ipAddresses: [address] }),
      checkPassword: instance.checkPassword,
      templateDir: false,
    });
    await server.start();
    try {
      await expect(readdir(join(instance.root, 'no-template'))).resolves.toEqual(['instance']);
      expect(await server.databaseExists('databricks_postgres')).toBe(true);
      await server.createRole('owner@example.com', 'USER', { superuser: true });
      expect((await server.listRoles())[0]).toMatchObject({ name: 'owner@example.com', superuser: true });
    } finally {
      await server.destroy();
    }
  });
});

describe('destroy', () => {
  test('stops the server of the directory, even one started by another object, deletes the data, and cannot be undone', async () => {
    expect(instance.server.running).toBe(true);
    const server = sameInstanceAgain();
    await server.destroy();
    await expect(stat(join(instance.root, 'instance'))).rejects.toMatchObject({ code: 'ENOENT' });
    // The first object notices that its server is gone, and closes its gateway with it.
    await expect.poll(() => instance.server.running).toBe(false);
    expect((await connectionError()).code).toBe('ECONNREFUSED');
    await expect(server.start()).rejects.toMatchObject({ code: 'DESTROYED' });
  });
});
