// The emulator's pure parts: the instance state machine, request validation, pagination, tokens,
// identities, error bodies, the HTTP wire, and the data directory's default.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiError, ERROR_STATUS, errors } from '../emulator/api-errors';
import { makeEndpoint } from '../emulator/endpoint';
import { createApiServer } from '../emulator/http';
import type { Route } from '../emulator/http';
import { loadOrCreateIdentities } from '../emulator/identities';
import type { Identity } from '../emulator/identities';
import { allows, INSTANCE_STATES, InvalidTransitionError, stateAfterRestart, transition } from '../emulator/instance-state';
import type { InstanceEvent, InstanceState } from '../emulator/instance-state';
import { parseCreateInstance, parseInstanceUpdate, renderInstance } from '../emulator/instance-wire';
import { escapeLogText, quoteForLog } from '../emulator/log-text';
import { paginate, parsePageSize } from '../emulator/pagination';
import { dataDirLayout, defaultEmulatorDataDir, prepareDataDir } from '../emulator/paths';
import type { InstanceRecord } from '../emulator/store';
import { loadTokenService } from '../emulator/tokens';
import {
  authenticationCleartextPassword,
  decodeInitialPacket,
  encryptionResponse,
  needsNegotiation,
  negotiateProtocolVersion,
  ProtocolViolation,
  startupMessageForServer,
  textOf,
} from '../emulator/postgres/startup-protocol';
import { errorFields } from './support/emulator-wire-client';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lakebase-emulator-units-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('the instance state machine', () => {
  const allowed: [InstanceState, InstanceEvent, InstanceState | null][] = [
    ['STARTING', 'server-started', 'AVAILABLE'],
    ['STARTING', 'start-failed', 'STOPPED'],
    ['STARTING', 'created-stopped', 'STOPPED'],
    ['STARTING', 'delete-requested', 'DELETING'],
    ['AVAILABLE', 'stop-requested', 'UPDATING'],
    ['AVAILABLE', 'resize-requested', 'UPDATING'],
    ['AVAILABLE', 'failover-requested', 'FAILING_OVER'],
    ['AVAILABLE', 'delete-requested', 'DELETING'],
    ['UPDATING', 'server-stopped', 'STOPPED'],
    ['UPDATING', 'resize-applied', 'AVAILABLE'],
    ['UPDATING', 'delete-requested', 'DELETING'],
    ['STOPPED', 'start-requested', 'STARTING'],
    ['STOPPED', 'delete-requested', 'DELETING'],
    ['DELETING', 'deleted', null],
    // A server that dies on its own is restarted (issue 12): STARTING meanwhile, FAILED if it cannot be.
    ['AVAILABLE', 'server-crashed', 'STARTING'],
    ['STARTING', 'recovery-failed', 'FAILED'],
    ['FAILED', 'start-requested', 'STARTING'],
    ['FAILED', 'stop-requested', 'UPDATING'],
    ['FAILED', 'delete-requested', 'DELETING'],
    ['FAILING_OVER', 'failover-done', 'AVAILABLE'],
    ['FAILING_OVER', 'delete-requested', 'DELETING'],
  ];

  test.each(allowed)('%s --%s--> %s', (state, event, next) => {
    expect(transition(state, event)).toBe(next);
    expect(allows(state, event)).toBe(true);
  });

  test('every other event in every state is a bug that throws', () => {
    const events = [...new Set(allowed.map(([, event]) => event))];
    let refused = 0;
    for (const state of INSTANCE_STATES) {
      for (const event of events) {
        if (allowed.some(([s, e]) => s === state && e === event)) continue;
        const error = thrown(() => transition(state, event));
        expect(error).toBeInstanceOf(InvalidTransitionError);
        expect((error as InvalidTransitionError).code).toBe('EMULATOR_INVALID_TRANSITION');
        expect(allows(state, event)).toBe(false);
        refused++;
      }
    }
    expect(refused).toBe(INSTANCE_STATES.length * events.length - allowed.length);
    expect(thrown(() => transition('UPGRADED' as InstanceState, 'deleted'))).toBeInstanceOf(InvalidTransitionError);
  });

  test('after a restart, instances that should run start again and stopped ones stay stopped', () => {
    expect(stateAfterRestart('AVAILABLE', false)).toBe('STARTING');
    expect(stateAfterRestart('UPDATING', false)).toBe('STARTING');
    expect(stateAfterRestart('UPDATING', true)).toBe('STOPPED');
    expect(stateAfterRestart('STOPPED', true)).toBe('STOPPED');
    expect(stateAfterRestart('DELETING', false)).toBe('DELETING');
    expect(stateAfterRestart('FAILED', false)).toBe('STARTING');
    expect(stateAfterRestart('FAILED', true)).toBe('STOPPED');
  });
});

describe('DatabaseInstance requests', () => {
  function apiError(action: () => unknown): ApiError {
    const error = thrown(action);
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }

  test('create fills the real defaults and ignores output-only fields sent back', () => {
    const { name, settings } = parseCreateInstance({ name: 'shop-01', state: 'AVAILABLE', uid: 'x', effective_capacity: 'CU_8' });
    expect(name).toBe('shop-01');
    expect(settings).toEqual({
      capacity: 'CU_2', stopped: false, retentionWindowInDays: 7, nodeCount: 1, enableReadableSecondaries: false, enablePgNativeLogin: false, customTags: [],
    });
  });

  test.each([
    ['', 'INVALID_PARAMETER_VALUE'],
    ['has_underscore', 'INVALID_PARAMETER_VALUE'],
    ['has.dot', 'INVALID_PARAMETER_VALUE'],
    ['a'.repeat(64), 'INVALID_PARAMETER_VALUE'],
  ])('the name %j is refused', (name, code) => {
    expect(apiError(() => parseCreateInstance({ name })).code).toBe(code);
  });

  test('names of 63 letters, digits and hyphens are accepted', () => {
    expect(parseCreateInstance({ name: 'a'.repeat(60) + '-01' }).name).toHaveLength(63);
  });

  test('unknown fields are named; nodes, secondaries and parents are checked', () => {
    expect(apiError(() => parseCreateInstance({ name: 'x', colour: 'blue' })).metadata).toEqual({ field: 'colour' });
    expect(parseCreateInstance({ name: 'x', node_count: 2, enable_readable_secondaries: true }).settings).toMatchObject({ nodeCount: 2, enableReadableSecondaries: true });
    expect(apiError(() => parseCreateInstance({ name: 'x', enable_readable_secondaries: true })).metadata).toEqual({ field: 'enable_readable_secondaries' });
    expect(apiError(() => parseCreateInstance({ name: 'x', node_count: 4 })).code).toBe('INVALID_PARAMETER_VALUE');
    expect(parseCreateInstance({ name: 'x', parent_instance_ref: { name: 'p', lsn: '0/16b3740', branch_time: '2026-12-03T10:00:00Z' } }).parent).toEqual({
      name: 'p', lsn: '0/16B3740', branchTime: new Date('2026-12-03T10:00:00Z'),
    });
    expect(apiError(() => parseCreateInstance({ name: 'x', parent_instance_ref: { name: 'p', branch_time: 'yesterday' } })).metadata).toEqual({ field: 'parent_instance_ref.branch_time' });
    expect(apiError(() => parseCreateInstance({ name: 'x', parent_instance_ref: { name: 'p', lsn: 'nope' } })).metadata).toEqual({ field: 'parent_instance_ref.lsn' });
    expect(apiError(() => parseCreateInstance({ name: 'x', parent_instance_ref: { lsn: '0/1' } })).code).toBe('INVALID_PARAMETER_VALUE');
    expect(apiError(() => parseCreateInstance({ name: 'x', pg_version: 'PG_VERSION_15' })).code).toBe('INVALID_PARAMETER_VALUE');
    expect(parseCreateInstance({ name: 'x', pg_version: 'PG_VERSION_16' }).settings.requestedPgVersion).toBe('PG_VERSION_16');
  });

  test('an update changes the masked fields, or with no mask every updatable field in the body', () => {
    expect(parseInstanceUpdate('x', { capacity: 'CU_4', stopped: true }, 'capacity')).toEqual({ capacity: 'CU_4' });
    expect(parseInstanceUpdate('x', { capacity: 'CU_4', stopped: true }, '')).toEqual({ capacity: 'CU_4', stopped: true });
    expect(parseInstanceUpdate('x', { name: 'x', retention_window_in_days: 9 }, '*')).toEqual({ retentionWindowInDays: 9 });
    expect(parseInstanceUpdate('x', {}, 'custom_tags')).toEqual({ customTags: [] });
  });

  test('a masked field missing from the body is refused, naming the SDK that drops PATCH bodies', () => {
    const error = apiError(() => parseInstanceUpdate('x', {}, 'stopped'));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain('sdk-experimental 0.17');
    expect(apiError(() => parseInstanceUpdate('x', { name: 'y', stopped: true }, 'stopped')).metadata).toEqual({ field: 'name' });
    expect(apiError(() => parseInstanceUpdate('x', {}, 'pg_version')).message).toContain('cannot be updated');
  });

  test('the rendered instance carries effective_* fields, and custom_tags only when asked', () => {
    const record: InstanceRecord = {
      name: 'shop', uid: 'u', state: 'STOPPED', stopped: true, capacity: 'CU_1', creator: 'a@b.c', creatorKind: 'USER',
      creationTime: '2026-01-01T00:00:00.000Z', address: '127.0.3.7', port: 5432, retentionWindowInDays: 7, nodeCount: 1,
      customTags: [{ key: 'team', value: 'data' }], bootstrapped: true,
    };
    const view = renderInstance(record, { includeCustomTags: false });
    expect(view).toMatchObject({ state: 'STOPPED', effective_stopped: true, read_write_dns: '127.0.3.7', effective_custom_tags: record.customTags });
    expect(view).not.toHaveProperty('custom_tags');
    // Input-only fields are answered by their effective_* twins (model.d.ts).
    for (const inputOnly of ['stopped', 'node_count', 'retention_window_in_days', 'enable_readable_secondaries', 'enable_pg_native_login']) expect(view).not.toHaveProperty(inputOnly);
    expect(view).toMatchObject({ effective_node_count: 1, effective_retention_window_in_days: 7, effective_enable_readable_secondaries: false, effective_enable_pg_native_login: false });
    expect(renderInstance(record, { includeCustomTags: true }).custom_tags).toEqual(record.customTags);
  });
});

describe('pagination', () => {
  const items = ['a', 'b', 'c', 'd', 'e'];
  const key = (item: string) => item;

  test('pages follow each other to the end, and a token survives removals', () => {
    const first = paginate(items, key, 2, null);
    expect(first.items).toEqual(['a', 'b']);
    const second = paginate(items, key, 2, first.nextPageToken ?? null);
    expect(second.items).toEqual(['c', 'd']);
    const last = paginate(items, key, 2, second.nextPageToken ?? null);
    expect(last).toEqual({ items: ['e'] });
    // 'b' (the last item of page one) is deleted between calls: page two is still c, d.
    expect(paginate(['a', 'c', 'd', 'e'], key, 2, first.nextPageToken ?? null).items).toEqual(['c', 'd']);
  });

  test('page_size: absent or 0 is the default, above the maximum is the maximum, nonsense is refused', () => {
    expect(parsePageSize(null)).toBe(50);
    expect(parsePageSize('0')).toBe(50);
    expect(parsePageSize('500')).toBe(100);
    expect(parsePageSize('7')).toBe(7);
    expect(thrown(() => parsePageSize('-1'))).toBeInstanceOf(ApiError);
    expect(thrown(() => parsePageSize('ten'))).toBeInstanceOf(ApiError);
    expect((thrown(() => paginate(items, key, 2, 'garbage')) as ApiError).code).toBe('INVALID_PARAMETER_VALUE');
  });
});

describe('tokens', () => {
  let now = Date.parse('2026-06-01T12:00:00.000Z');
  const clock = () => now;

  test('a database credential is accepted for its identity and instances until its expiry', async () => {
    const tokens = await loadTokenService(join(dir, 'key-a.json'), clock);
    const minted = await tokens.mintDatabaseCredential('ada@example.com', ['uid-1', 'uid-2'], 2);
    expect(minted.expiresAt.getTime()).toBe(now + 2000);
    const login = { user: 'ada@example.com', instanceUid: 'uid-2' };
    expect(await tokens.verifyDatabaseCredential(minted.token, login)).toBe('accepted');
    expect(await tokens.verifyDatabaseCredential(minted.token, { ...login, user: 'bob@example.com' })).toBe('other-identity');
    expect(await tokens.verifyDatabaseCredential(minted.token, { ...login, instanceUid: 'uid-3' })).toBe('other-instance');
    now += 1999;
    expect(await tokens.verifyDatabaseCredential(minted.token, login)).toBe('accepted');
    now += 1;
    expect(await tokens.verifyDatabaseCredential(minted.token, login)).toBe('expired');
  });

  test('tampered, foreign and malformed credentials are refused', async () => {
    const tokens = await loadTokenService(join(dir, 'key-a.json'), clock);
    const other = await loadTokenService(join(dir, 'key-b.json'), clock);
    const login = { user: 'ada@example.com', instanceUid: 'uid-1' };
    const { token } = await tokens.mintDatabaseCredential(login.user, [login.instanceUid], 60);
    const [header, payload, signature] = token.split('.');
    // Another identity written into the claims: the signature no longer matches them.
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(token), sub: 'bob@example.com' })).toString('base64url');
    expect(await tokens.verifyDatabaseCredential(`${header}.${forged}.${signature}`, { ...login, user: 'bob@example.com' })).toBe('bad-signature');
    expect(await tokens.verifyDatabaseCredential(`${header}.${payload}.${signature.slice(0, -4)}AAAA`, login)).toBe('bad-signature');
    expect(await other.verifyDatabaseCredential(token, login)).toBe('bad-signature');
    expect(await tokens.verifyDatabaseCredential('not-a-token', login)).toBe('malformed');
    expect(await tokens.verifyDatabaseCredential('', login)).toBe('malformed');
  });

  test('a credential is a JWT naming its identity, instances and lifetime, for any number of instances, and the key persists', async () => {
    const tokens = await loadTokenService(join(dir, 'key-a.json'), clock);
    const uids = Array.from({ length: 100 }, (_, index) => `0f6e1d2c-uid-${index}`);
    const minted = await tokens.mintDatabaseCredential('x'.repeat(63), uids, 60);
    expect(decodeProtectedHeader(minted.token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(decodeJwt(minted.token)).toMatchObject({ sub: 'x'.repeat(63), instance_uids: uids, iat: Math.floor(now / 1000), exp: Math.ceil(now / 1000 + 60) });
    expect(minted.token.length).toBeGreaterThan(128);
    const reloaded = await loadTokenService(join(dir, 'key-a.json'), clock);
    expect(await reloaded.verifyDatabaseCredential(minted.token, { user: 'x'.repeat(63), instanceUid: uids[99] })).toBe('accepted');
    await expect(tokens.mintDatabaseCredential('x', [], 60)).rejects.toThrow(RangeError);
  });

  test('access tokens and credentials never stand in for each other', async () => {
    const tokens = await loadTokenService(join(dir, 'key-a.json'), clock);
    const access = await tokens.mintAccessToken('app-id', 3600);
    expect(await tokens.verifyAccessToken(access.token)).toBe('app-id');
    expect(await tokens.verifyDatabaseCredential(access.token, { user: 'app-id', instanceUid: 'u' })).toBe('bad-signature');
    const credential = await tokens.mintDatabaseCredential('app-id', ['u'], 60);
    expect(await tokens.verifyAccessToken(credential.token)).toBeUndefined();
    now += 3600_000;
    expect(await tokens.verifyAccessToken(access.token)).toBeUndefined();
  });
});

describe('identities', () => {
  test('generated once and the same on every load; looked up by PAT, client credentials and Postgres name', async () => {
    const path = join(dir, 'identities.json');
    const first = await loadOrCreateIdentities(path);
    const again = await loadOrCreateIdentities(path);
    expect(again.defaultUser).toEqual(first.defaultUser);
    expect(first.defaultUser.token).toMatch(/^dapi[0-9a-f]{32}$/);
    expect(first.defaultUser.userName).toMatch(/^[^@]+@[^@]+$/);
    expect(first.secondUser.userName).not.toBe(first.defaultUser.userName);
    expect(first.byPersonalAccessToken(first.defaultUser.token)?.postgresName).toBe(first.defaultUser.userName);
    expect(first.byPersonalAccessToken('dapi' + '0'.repeat(32))).toBeUndefined();
    const sp = first.servicePrincipal;
    expect(first.byClientCredentials(sp.applicationId, sp.clientSecret)?.kind).toBe('SERVICE_PRINCIPAL');
    expect(first.byClientCredentials(sp.applicationId, sp.clientSecret + 'x')).toBeUndefined();
    expect(first.byPostgresName(sp.applicationId)?.postgresName).toBe(sp.applicationId);
    expect(first.byPostgresName(first.secondUser.userName)?.kind).toBe('USER');
  });

  test('endpoints keep secrets out of JSON and inspect, yet hand them to who asks', async () => {
    const identities = await loadOrCreateIdentities(join(dir, 'identities.json'));
    const endpoint = makeEndpoint({
      host: 'http://127.0.0.1:1', dataDir: dir, caCertPath: join(dir, 'ca.crt'),
      user: identities.defaultUser, secondUser: identities.secondUser, adminUser: identities.adminUser, servicePrincipal: identities.servicePrincipal,
    });
    const shown = JSON.stringify(endpoint) + inspect(endpoint, { depth: 5 });
    for (const secret of [identities.defaultUser.token, identities.secondUser.token, identities.adminUser.token, identities.servicePrincipal.clientSecret]) {
      expect(shown).not.toContain(secret);
    }
    expect(endpoint.user.token).toBe(identities.defaultUser.token);
    expect(endpoint.servicePrincipal.clientSecret).toBe(identities.servicePrincipal.clientSecret);
  });
});

describe('error bodies', () => {
  test('every code has its status, and every detail carries metadata (the JS SDK needs it)', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      const body = new ApiError(code as keyof typeof ERROR_STATUS, 'message').toBody();
      expect(new ApiError(code as keyof typeof ERROR_STATUS, 'm').status).toBe(status);
      expect(body).toMatchObject({ error_code: code, message: 'message' });
      for (const detail of body.details) expect(detail.metadata).toBeTypeOf('object');
    }
    expect(errors.instanceNotFound('x').toBody().details[0].metadata).toEqual({ instance_name: 'x' });
  });
});

describe('the HTTP wire', () => {
  const caller: Identity = { kind: 'USER', id: '1', userName: 'a@b.c', displayName: 'A', postgresName: 'a@b.c' };
  const logged: string[] = [];
  let base: string;
  let server: ReturnType<typeof createApiServer>;

  beforeAll(async () => {
    const routes: Route[] = [
      { method: 'POST', path: '/things/{name}', authenticated: true, handle: (request) => ({ status: 200, body: { name: request.params.name, body: request.body, who: request.identity?.postgresName } }) },
      { method: 'GET', path: '/open', authenticated: false, handle: () => ({ status: 200, body: { open: true } }) },
      { method: '*', path: '/broken', authenticated: false, handle: () => { throw new Error('secret internals'); } },
    ];
    server = createApiServer({
      routes,
      authenticate: async (authorization) => {
        if (authorization !== 'Bearer good') throw errors.credentialMissing();
        return caller;
      },
      log: (line) => logged.push(line),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const post = (path: string, body: string, authorization = 'Bearer good') =>
    fetch(`${base}${path}`, { method: 'POST', headers: { Authorization: authorization, 'Content-Type': 'application/json' }, body });

  test('path parameters are decoded, JSON bodies parsed, the caller authenticated', async () => {
    const response = await post('/things/a%40b', '{"x":1}');
    expect(await response.json()).toEqual({ name: 'a@b', body: { x: 1 }, who: 'a@b.c' });
  });

  test('failures leave as the real error body', async () => {
    const malformed = await post('/things/x', '{not json');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error_code: string }).error_code).toBe('MALFORMED_REQUEST');
    const unauthenticated = await post('/things/x', '{}', 'Bearer bad');
    expect(unauthenticated.status).toBe(401);
    const wrongMethod = await fetch(`${base}/open`, { method: 'DELETE' });
    expect(wrongMethod.status).toBe(404);
    expect(await wrongMethod.json()).toMatchObject({ error_code: 'ENDPOINT_NOT_FOUND', message: "No API found for 'DELETE /open'" });
    const badEncoding = await post('/things/%E0%A4%A', '{}');
    expect(badEncoding.status).toBe(400);
  });

  test('an unexpected failure is a 500 that hides its details from the client and logs them', async () => {
    const response = await fetch(`${base}/broken`, { method: 'PUT' });
    expect(response.status).toBe(500);
    const body = JSON.stringify(await response.json());
    expect(body).toContain('INTERNAL_ERROR');
    expect(body).not.toContain('secret internals');
    expect(logged.join('\n')).toContain('secret internals');
  });
});

describe('client text in the log (issue 12, item 7)', () => {
  test('escapeLogText keeps an entry on one line and a terminal\'s cursor where it is', () => {
    expect(escapeLogText('a\nb\rc\u2028d\u2029e\u0085f\u001b[2Jg\u202eh\ti')).toBe('a\\nb\\rc\\u2028d\\u2029e\\u0085f\\u001b[2Jg\\u202eh\ti');
    expect(escapeLogText('plain text, ünïcödé and "quotes"')).toBe('plain text, ünïcödé and "quotes"');
  });

  test('quoteForLog shows where a value starts and ends', () => {
    expect(quoteForLog('x\nFAKE LOG LINE')).toBe('"x\\nFAKE LOG LINE"');
    expect(quoteForLog('say "hi"\\')).toBe('"say \\"hi\\"\\\\"');
    expect(quoteForLog('\u2028')).toBe('"\\u2028"');
  });
});

describe('preparing the data directory', () => {
  test.skipIf(process.getuid?.() !== 0)('as root, the directories it creates let the postgres user pass; the chosen parent is left alone', async () => {
    const base = await mkdtemp(join(dir, 'prepare-'));
    const layout = dataDirLayout(join(base, 'a', 'b', 'data'));
    await prepareDataDir(layout);
    for (const created of [join(base, 'a'), join(base, 'a', 'b'), layout.dataDir, layout.instancesDir]) {
      expect((await stat(created)).mode & 0o777).toBe(0o701);
    }
    expect((await stat(base)).mode & 0o777).toBe(0o700);
  });
});

describe('the default data directory', () => {
  test('LAKEBASE_EMULATOR_DIR, then XDG_DATA_HOME, then /var/lib for root, else ~/.local/share', () => {
    expect(defaultEmulatorDataDir({ LAKEBASE_EMULATOR_DIR: '/x', XDG_DATA_HOME: '/y' }, 1000)).toBe('/x');
    expect(defaultEmulatorDataDir({ XDG_DATA_HOME: '/y' }, 0)).toBe('/y/lakebase-kernel/emulator');
    expect(defaultEmulatorDataDir({}, 0)).toBe('/var/lib/lakebase-kernel/emulator');
    expect(defaultEmulatorDataDir({}, 1000)).toMatch(/\/\.local\/share\/lakebase-kernel\/emulator$/);
  });
});

describe('startup protocol (the login gateway\'s codec; its refusals are compared with PostgreSQL in emulator-postgres-gateway.test.ts)', () => {
  const startup = (body: string, version = 0x00030000) => {
    const bytes = Buffer.from(body, 'latin1');
    const header = Buffer.alloc(8);
    header.writeInt32BE(8 + bytes.length, 0);
    header.writeUInt32BE(version, 4);
    return Buffer.concat([header, bytes]);
  };
  const first = { sslDone: false, gssDone: false };
  const decode = (packet: Buffer) => {
    const decoded = decodeInitialPacket(packet, first);
    if (decoded.kind !== 'startup') throw new Error(`not a startup message: ${decoded.kind}`);
    return decoded.message;
  };

  test('AuthenticationCleartextPassword and the encryption answers are the documented bytes', () => {
    expect([...authenticationCleartextPassword()]).toEqual([0x52, 0, 0, 0, 8, 0, 0, 0, 3]);
    expect(encryptionResponse(true).toString()).toBe('S');
    expect(encryptionResponse(false).toString()).toBe('N');
  });

  test('cancel keys of 1 to 256 bytes are passed on unchanged; others close the connection without a word', () => {
    for (const keyBytes of [4, 32, 256]) {
      const packet = Buffer.concat([Buffer.from([0, 0, 0, 12 + keyBytes]), Buffer.from([0x04, 0xd2, 0x16, 0x2e]), Buffer.alloc(4 + keyBytes, 7)]);
      packet.writeInt32BE(packet.length, 0);
      expect(decodeInitialPacket(packet, first)).toEqual({ kind: 'cancel-request', packet });
    }
    for (const keyBytes of [0, 257]) {
      const packet = Buffer.concat([Buffer.alloc(4), Buffer.from([0x04, 0xd2, 0x16, 0x2e]), Buffer.alloc(4 + keyBytes)]);
      packet.writeInt32BE(packet.length, 0);
      const violation = thrown(() => decodeInitialPacket(packet, first)) as ProtocolViolation;
      expect(violation).toBeInstanceOf(ProtocolViolation);
      expect(violation.reply).toBeUndefined();
    }
  });

  test('replication takes PostgreSQL\'s booleans (prefixes too) or "database"', () => {
    const replication = (value: string) => decode(startup(`user\0u\0replication\0${value}\0\0`)).replication;
    expect(['of', 'false', 'NO', '0'].map(replication)).toEqual(['none', 'none', 'none', 'none']);
    expect(['tru', 'yes', 'on', '1'].map(replication)).toEqual(['physical', 'physical', 'physical', 'physical']);
    expect(replication('database')).toBe('logical');
    const violation = thrown(() => replication('o')) as ProtocolViolation;
    expect(violation.reply && errorFields(violation.reply.subarray(5))).toMatchObject({ C: '22023', H: 'Valid values are: "false", 0, "true", 1, "database".' });
  });

  test('the database defaults to the user; names are cut at byte 63 and kept as bytes', () => {
    const name = 'é'.repeat(40);
    const message = decode(startup(`user\0${Buffer.from(name).toString('latin1')}\0\0`));
    expect(Buffer.from(message.user, 'latin1')).toEqual(Buffer.from(name).subarray(0, 63));
    expect(message.database).toBe(message.user);
    expect(textOf(decode(startup(`user\0${Buffer.from('jörg').toString('latin1')}\0\0`)).user)).toBe('jörg');
  });

  test('PostgreSQL gets the client\'s own packet, or, after a negotiation, the agreed version without _pq_ options', () => {
    const plain = decode(startup('user\0u\0database\0d\0\0'));
    expect(needsNegotiation(plain)).toBe(false);
    expect(startupMessageForServer(plain)).toBe(plain.packet);
    const newer = decode(startup('user\0u\0_pq_.x\0on\0application_name\0a\0\0', 0x00030007));
    expect(needsNegotiation(newer)).toBe(true);
    expect(startupMessageForServer(newer)).toEqual(startup('user\0u\0application_name\0a\0\0', 0x00030002));
    expect(negotiateProtocolVersion(2, newer.unrecognizedProtocolOptions)).toEqual(
      Buffer.concat([Buffer.from('v'), Buffer.from([0, 0, 0, 19, 0, 3, 0, 2, 0, 0, 0, 1]), Buffer.from('_pq_.x\0')]),
    );
  });
});
