// What a user types (URL, key=value string, PG* variables, options) becomes a pg config and a
// safe description, with libpq's precedence and sslmode semantics. Pure: the environment, files
// and OS user are injected.
import { inspect } from 'node:util';
import type { ConnectionOptions } from 'node:tls';
import { describe, expect, test } from 'vitest';
import {
  DEFAULT_APPLICATION_NAME,
  describeTarget,
  findPassfilePassword,
  hasPgEnvironment,
  resolveTarget,
  TARGET_ERRORS,
  TargetEnvironment,
  TargetInput,
} from '../lakebase/targets';
import { CONNECTION_ERRORS } from '../lakebase/session';
import { LakebaseError } from '../lakebase/errors';

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n');

function environment(env: Record<string, string> = {}, files: Record<string, string | Buffer> = {}): TargetEnvironment {
  return {
    env,
    readFile: (path) => {
      const content = files[path];
      if (content === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
      return Buffer.from(content);
    },
    homeDir: () => '/home/ada',
    osUser: () => 'ada',
  };
}

const resolve = (input: TargetInput, env: Record<string, string> = {}, files: Record<string, string | Buffer> = {}) =>
  resolveTarget(input, environment(env, files));

const where = (input: TargetInput, env: Record<string, string> = {}) => {
  const { config } = resolve(input, env);
  return { host: config.host, port: config.port, user: config.user, database: config.database };
};

const password = (input: TargetInput, env: Record<string, string> = {}, files: Record<string, string | Buffer> = {}) =>
  (resolve(input, env, files).config.password as () => Promise<string>)();

const errorOf = (run: () => unknown): LakebaseError => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LakebaseError);
    return error as LakebaseError;
  }
  throw new Error('expected an error');
};

describe('URLs', () => {
  test.each([
    ['postgresql://bob:pw@db.example.com:6543/sales', { host: 'db.example.com', port: 6543, user: 'bob', database: 'sales' }],
    ['postgres://bob@db.example.com/sales', { host: 'db.example.com', port: 5432, user: 'bob', database: 'sales' }],
    ['postgresql://db.example.com', { host: 'db.example.com', port: 5432, user: 'ada', database: 'ada' }],
    ['postgresql://', { host: 'localhost', port: 5432, user: 'ada', database: 'ada' }],
    ['postgresql://[::1]:5433/x', { host: '::1', port: 5433, user: 'ada', database: 'x' }],
    ['postgresql://ana%40example.com@h/my%20db', { host: 'h', port: 5432, user: 'ana@example.com', database: 'my db' }],
    ['postgresql://%2Fvar%2Frun%2Fpostgresql/db', { host: '/var/run/postgresql', port: 5432, user: 'ada', database: 'db' }],
    ['postgresql:///db?host=/tmp&port=5499&user=u', { host: '/tmp', port: 5499, user: 'u', database: 'db' }],
    ['postgresql://h/db?dbname=other&database=third', { host: 'h', port: 5432, user: 'ada', database: 'third' }],
  ])('%s', (url, expected) => {
    expect(where({ connectionString: url })).toEqual(expected);
  });

  test('the password comes from the URL, percent-decoded', async () => {
    expect(await password({ connectionString: 'postgresql://u:p%40ss%3Aw0rd@h/db' })).toBe('p@ss:w0rd');
  });

  test('query parameters set TLS, application name, timeout and server options', () => {
    const { config, sslMode } = resolve({
      connectionString: 'postgresql://h/db?sslmode=require&application_name=etl&connect_timeout=7&options=-c%20search_path%3Dapp',
    });
    expect(sslMode).toBe('require');
    expect(config.ssl).toEqual({ rejectUnauthorized: false });
    expect(config.application_name).toBe('etl');
    expect(config.connectionTimeoutMillis).toBe(7000);
    expect(config.options).toBe('-c search_path=app');
  });

  test.each([
    ['postgresql://h/db?target_session_attrs=read-write', TARGET_ERRORS.unsupported, /target_session_attrs/],
    ['postgresql://h1,h2/db', TARGET_ERRORS.unsupported, /several hosts/],
    ['postgresql://h:notaport/db', TARGET_ERRORS.invalid, /port "notaport"/],
    ['postgresql://h:70000/db', TARGET_ERRORS.invalid, /between 1 and 65535/],
    ['postgresql://h/db?sslmode', TARGET_ERRORS.invalid, /has no value/],
    ['postgresql://h/db?sslmode=sometimes', TARGET_ERRORS.invalid, /sslmode "sometimes"/],
    ['postgresql://h/d%ZZb', TARGET_ERRORS.invalid, /%-escape/],
    ['mysql://h/db', TARGET_ERRORS.invalid, /Cannot read the connection target/],
  ])('%s is refused', (url, code, message) => {
    const error = errorOf(() => resolve({ connectionString: url }));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  test('a refused URL never shows its password', () => {
    const error = errorOf(() => resolve({ connectionString: 'postgresql://u:hunter2-secret@h/db?bogus=1' }));
    expect(error.message + error.hint).not.toContain('hunter2-secret');
    const unencoded = errorOf(() => resolve({ connectionString: 'postgresql://u:hunter2@secret@h/db' }));
    expect(unencoded.message).toMatch(/an "@" or "\/" inside its user name or password/);
    expect(unencoded.message + unencoded.hint).not.toMatch(/hunter2|secret@h/);
    // libpq would take "se" for the port and "cret@h" for the database: refused without echoing either.
    const slashed = errorOf(() => resolve({ connectionString: 'postgresql://u:se/cret@h/db' }));
    expect(slashed.message).toMatch(/an "@" or "\/" inside its user name or password/);
    expect(slashed.message + slashed.hint).not.toMatch(/se\/cret|cret@h|"se"/);
  });

  test('"?", "#" and spaces in a password are read as libpq reads them (issue 12)', async () => {
    expect(await password({ connectionString: 'postgresql://u:se#cret@h/db' })).toBe('se#cret');
    expect(await password({ connectionString: 'postgresql://u:se?cret@h/db?sslmode=disable' })).toBe('se?cret');
    expect(await password({ connectionString: 'postgresql://u:secret pw@h/db' })).toBe('secret pw');
    expect(where({ connectionString: 'postgresql://u:se#cret@h:6543/db' })).toMatchObject({ host: 'h', port: 6543, user: 'u', database: 'db' });
    // An "@" in a query value is not user info.
    expect(where({ connectionString: 'postgresql://h:5432/db?application_name=me@work' })).toMatchObject({ host: 'h', port: 5432, database: 'db' });
  });
});

describe('key=value strings', () => {
  test('libpq keyword/value pairs, with quoting and escapes', async () => {
    const input = { connectionString: "host=db.example.com port=5433 dbname='my db' user=bob password='it\\'s' sslmode=verify-full" };
    expect(where(input)).toEqual({ host: 'db.example.com', port: 5433, user: 'bob', database: 'my db' });
    expect(await password(input)).toBe("it's");
    expect(resolve(input).sslMode).toBe('verify-full');
  });

  test.each([
    ["host='unclosed", /not closed/],
    ['host=h port', /Expected "name=value"/],
    ['host=h bogus=1', /"bogus" is not supported/],
  ])('%s is refused', (text, message) => {
    expect(errorOf(() => resolve({ connectionString: text })).message).toMatch(message);
  });
});

describe('precedence: options, then the connection string, then PG* variables, then defaults', () => {
  const env = { PGHOST: 'env-host', PGPORT: '6000', PGDATABASE: 'env-db', PGUSER: 'env-user', PGPASSWORD: 'env-pw', PGAPPNAME: 'env-app' };

  test('the environment alone', async () => {
    expect(where({}, env)).toEqual({ host: 'env-host', port: 6000, user: 'env-user', database: 'env-db' });
    expect(await password({}, env)).toBe('env-pw');
    expect(resolve({}, env).config.application_name).toBe('env-app');
  });

  test('the URL over the environment, the environment filling its gaps', () => {
    expect(where({ connectionString: 'postgresql://url-host/url-db' }, env)).toEqual({ host: 'url-host', port: 6000, user: 'env-user', database: 'url-db' });
  });

  test('options over the URL', () => {
    expect(where({ connectionString: 'postgresql://url-user@url-host:7000/url-db', options: { database: 'opt-db', port: 7001 } }, env)).toEqual({
      host: 'url-host',
      port: 7001,
      user: 'url-user',
      database: 'opt-db',
    });
  });

  test('defaults: localhost, 5432, the OS user and its database, prefer, our application name, a timeout, keepalives', () => {
    const target = resolve({});
    expect(where({})).toEqual({ host: 'localhost', port: 5432, user: 'ada', database: 'ada' });
    expect(target.sslMode).toBe('prefer');
    expect(target.description).toBe('ada@localhost:5432/ada');
    expect(target.config.application_name).toBe(DEFAULT_APPLICATION_NAME);
    expect(target.config.connectionTimeoutMillis).toBe(30_000);
    expect(target.config.keepAlive).toBe(true);
  });

  test('empty variables count as unset, as in libpq', () => {
    expect(where({}, { PGHOST: '', PGUSER: 'u' })).toEqual({ host: 'localhost', port: 5432, user: 'u', database: 'u' });
  });

  test.each([
    ['0', 0],
    ['1', 2000],
    ['10', 10_000],
  ])('PGCONNECT_TIMEOUT=%s waits %i ms (0 forever, at least 2 s)', (seconds, millis) => {
    expect(resolve({}, { PGCONNECT_TIMEOUT: seconds }).config.connectionTimeoutMillis).toBe(millis);
  });

  test('hasPgEnvironment says whether PG* variables name a server', () => {
    expect(hasPgEnvironment({})).toBe(false);
    expect(hasPgEnvironment({ PGPASSWORD: 'x', PGSSLMODE: 'require' })).toBe(false);
    expect(hasPgEnvironment({ PGHOST: 'h' })).toBe(true);
    expect(hasPgEnvironment({ PGUSER: 'u' })).toBe(true);
  });
});

describe('sslmode, as libpq', () => {
  const files = { '/certs/ca.pem': CA, '/home/ada/ca.pem': CA };
  const tls = (input: TargetInput, env: Record<string, string> = {}) => {
    const target = resolve(input, env, files);
    return { sslMode: target.sslMode, ssl: target.config.ssl, sslFallback: target.sslFallback };
  };

  test('disable: plain text', () => {
    expect(tls({ options: { sslmode: 'disable' } })).toEqual({ sslMode: 'disable', ssl: false, sslFallback: undefined });
  });
  test('allow: plain text, TLS when the server insists', () => {
    expect(tls({ options: { sslmode: 'allow' } })).toEqual({ sslMode: 'allow', ssl: false, sslFallback: { rejectUnauthorized: false } });
  });
  test('prefer (the default): TLS unverified, plain text when the server has no TLS', () => {
    expect(tls({})).toEqual({ sslMode: 'prefer', ssl: { rejectUnauthorized: false }, sslFallback: false });
  });
  test('require: TLS, unverified', () => {
    expect(tls({ options: { sslmode: 'require' } })).toEqual({ sslMode: 'require', ssl: { rejectUnauthorized: false }, sslFallback: undefined });
  });
  test('require with a root certificate verifies the chain (verify-ca), as libpq does', () => {
    const { sslMode, ssl } = tls({ options: { sslmode: 'require' } }, { PGSSLROOTCERT: '/certs/ca.pem' });
    expect(sslMode).toBe('verify-ca');
    expect((ssl as ConnectionOptions).ca).toEqual(CA);
    expect((ssl as ConnectionOptions).rejectUnauthorized).toBe(true);
  });
  test('verify-ca: the chain is checked, the host name is not', () => {
    const ssl = tls({ options: { sslmode: 'verify-ca', sslrootcert: '~/ca.pem' } }).ssl as ConnectionOptions;
    expect(ssl.ca).toEqual(CA);
    expect(ssl.rejectUnauthorized).toBe(true);
    expect(ssl.checkServerIdentity?.('other.example.com', {} as never)).toBeUndefined();
  });
  test('verify-full: chain and host name checked (node checks the name by default)', () => {
    expect(tls({ connectionString: 'postgresql://h/db?sslmode=verify-full&sslrootcert=/certs/ca.pem' }).ssl).toEqual({ ca: CA, rejectUnauthorized: true });
  });
  test('verify-full without a root certificate trusts the built-in roots', () => {
    expect(tls({ options: { sslmode: 'verify-full' } }).ssl).toEqual({ rejectUnauthorized: true });
  });
  test('sslrootcert=system means the system roots and verify-full, and refuses weaker modes', () => {
    expect(tls({ options: { sslrootcert: 'system' } })).toEqual({ sslMode: 'verify-full', ssl: { rejectUnauthorized: true }, sslFallback: undefined });
    expect(errorOf(() => tls({ options: { sslrootcert: 'system', sslmode: 'require' } })).message).toMatch(/cannot be used with sslrootcert=system/);
  });
  test('PGSSLMODE applies when nothing was typed', () => {
    expect(tls({}, { PGSSLMODE: 'require' }).sslMode).toBe('require');
    expect(tls({ options: { sslmode: 'disable' } }, { PGSSLMODE: 'require' }).sslMode).toBe('disable');
  });
  test('Unix sockets never use TLS', () => {
    expect(tls({ options: { host: '/var/run/postgresql', sslmode: 'require' } }).ssl).toBe(false);
  });
  test('an unreadable root certificate fails now, naming the file', () => {
    const error = errorOf(() => tls({ options: { sslmode: 'verify-full', sslrootcert: '/missing.pem' } }));
    expect(error.code).toBe(TARGET_ERRORS.fileUnreadable);
    expect(error.message).toContain('/missing.pem');
  });
  test('client certificate and key; the key is kept out of inspect and JSON', () => {
    const target = resolve({ options: { sslmode: 'require', sslcert: '/c.pem', sslkey: '/k.pem' } }, {}, { '/c.pem': 'CERT', '/k.pem': 'PRIVATE-KEY-BYTES' });
    const ssl = target.config.ssl as ConnectionOptions;
    expect(ssl.cert).toEqual(Buffer.from('CERT'));
    expect(ssl.key).toEqual(Buffer.from('PRIVATE-KEY-BYTES'));
    expect(inspect(target, { depth: 10 })).not.toMatch(/PRIVATE-KEY|50 52 49 56/i);
    expect(JSON.stringify(target)).not.toContain(Buffer.from('PRIVATE-KEY-BYTES').toJSON().data.join(','));
  });
});

describe('passwords', () => {
  test('never in the description, the config as printed, or JSON', () => {
    const target = resolve({ connectionString: 'postgresql://bob:s3cret-pw@h:5432/db' });
    expect(target.description).toBe('bob@h:5432/db');
    expect(inspect(target, { depth: 10 })).not.toContain('s3cret-pw');
    expect(JSON.stringify(target)).not.toContain('s3cret-pw');
  });

  test('the passfile, when nothing else gives one', async () => {
    const passfile = ['# comment', 'other:5432:*:bob:wrong', 'h:*:db:bob:from\\:file', '*:*:*:*:fallback'].join('\n');
    expect(await password({ connectionString: 'postgresql://bob@h/db' }, {}, { '/home/ada/.pgpass': passfile })).toBe('from:file');
    expect(await password({ connectionString: 'postgresql://bob@h/db' }, { PGPASSFILE: '/etc/pw' }, { '/etc/pw': '*:*:*:*:x' })).toBe('x');
    expect(await password({ connectionString: 'postgresql://bob:typed@h/db' }, {}, { '/home/ada/.pgpass': passfile })).toBe('typed');
  });

  test('no password anywhere: PASSWORD_REQUIRED when the server asks', async () => {
    const error = await password({ connectionString: 'postgresql://bob@h/db' }).catch((e: unknown) => e);
    expect((error as LakebaseError).code).toBe(CONNECTION_ERRORS.passwordRequired);
  });

  test('asked once, then kept for reconnects', async () => {
    const prompts: string[] = [];
    const target = resolve({
      connectionString: 'postgresql://bob@h/db',
      askPassword: async (prompt) => {
        prompts.push(prompt);
        return 'answered';
      },
    });
    const ask = target.config.password as () => Promise<string>;
    expect([await ask(), await ask()]).toEqual(['answered', 'answered']);
    expect(prompts).toEqual(['Password for bob@h:5432/db: ']);
  });

  test.each([
    ['h:5432:db:bob:pw', { host: 'h', port: 5432, database: 'db', user: 'bob' }, 'pw'],
    ['h:5432:db:bob:pw', { host: 'h', port: 5433, database: 'db', user: 'bob' }, undefined],
    ['*:*:*:bob:pw', { host: 'x', port: 1, database: 'y', user: 'bob' }, 'pw'],
    ['localhost:5432:*:*:sock', { host: '/tmp', port: 5432, database: 'd', user: 'u' }, 'sock'],
    ['h\\:x:5432:*:*:esc\\\\aped', { host: 'h:x', port: 5432, database: 'd', user: 'u' }, 'esc\\aped'],
    ['too:few:fields', { host: 'too', port: 5432, database: 'few', user: 'fields' }, undefined],
  ])('passfile line %s', (line, at, expected) => {
    expect(findPassfilePassword(line, at)).toBe(expected);
  });
});

test('descriptions put IPv6 hosts in brackets', () => {
  expect(describeTarget({ host: '::1', port: 5432, user: 'u', database: 'd' })).toBe('u@[::1]:5432/d');
  expect(describeTarget({ host: '127.0.0.1', port: 5432, user: 'u', database: 'd' })).toBe('u@127.0.0.1:5432/d');
});
