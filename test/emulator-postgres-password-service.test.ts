// The password service at the RADIUS level, driven by a real UDP client that encodes packets the
// way PostgreSQL does (RFC 2865 Access-Request with User-Name, User-Password, NAS-Identifier).
import { createSocket, Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import radius from 'radius';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { PasswordService, startPasswordService } from '../emulator/postgres/password-service';

let service: PasswordService;
let client: Socket;
const log: string[] = [];
const asked: { user: string; password: string; instanceAddress: string }[] = [];

beforeEach(async () => {
  log.length = 0;
  asked.length = 0;
  service = await startPasswordService(
    (user, password, { instanceAddress }) => {
      asked.push({ user, password, instanceAddress });
      if (password === 'explode') throw new Error('token store unavailable');
      if (password === 'slow-good') return new Promise((resolve) => setTimeout(() => resolve(true), 50));
      return user === 'alice' && password === 'good-token';
    },
    { log: (line) => log.push(line) },
  );
  client = createSocket('udp4');
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
});

afterEach(async () => {
  client.close();
  await service.close();
});

/**
 * Sends an Access-Request and returns the answer's code, or 'no answer' after `waitMs`. An answer
 * whose response authenticator does not verify with `secret` is 'unverifiable' (PostgreSQL
 * discards such answers and refuses the login).
 */
async function ask(attributes: [string, string][], secret = service.secret, waitMs = 2000): Promise<string> {
  const identifier = randomBytes(1)[0];
  const request = radius.encode({ code: 'Access-Request', secret, identifier, attributes });
  return new Promise<string>((resolve) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      resolve('no answer');
    }, waitMs);
    function onMessage(response: Buffer) {
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(radius.verify_response({ request, response, secret }) ? radius.decode({ packet: response, secret }).code : 'unverifiable');
    }
    client.on('message', onMessage);
    client.send(request, service.port, '127.0.0.1');
  });
}

const login = (user: string, password: string): [string, string][] => [
  ['User-Name', user],
  ['User-Password', password],
  ['NAS-Identifier', '127.0.3.7'],
  ['Service-Type', 'Authenticate-Only'],
];

test('accepts what the check accepts and passes it the instance address', async () => {
  expect(await ask(login('alice', 'good-token'))).toBe('Access-Accept');
  expect(asked).toEqual([{ user: 'alice', password: 'good-token', instanceAddress: '127.0.3.7' }]);
});

test('rejects what the check rejects', async () => {
  expect(await ask(login('alice', 'wrong'))).toBe('Access-Reject');
  expect(await ask(login('bob', 'good-token'))).toBe('Access-Reject');
});

test('waits for an asynchronous check', async () => {
  expect(await ask(login('alice', 'slow-good'))).toBe('Access-Accept');
});

test('a check that throws refuses the login, logs without the password, and the service keeps answering', async () => {
  expect(await ask(login('alice', 'explode'))).toBe('Access-Reject');
  expect(log.join('\n')).toContain('token store unavailable');
  expect(log.join('\n')).not.toContain('explode');
  expect(await ask(login('alice', 'good-token'))).toBe('Access-Accept');
});

test('a request without a password is rejected without asking the check', async () => {
  expect(await ask([['User-Name', 'alice']])).toBe('Access-Reject');
  expect(asked).toEqual([]);
});

test('a server with another secret cannot log anyone in: the password decrypts to garbage and the answer does not verify', async () => {
  // RFC 2865 gives an Access-Request nothing to verify the secret by; a wrong one garbles User-Password.
  expect(await ask(login('alice', 'good-token'), 'not-the-secret')).toBe('unverifiable');
  expect(asked.map((entry) => entry.password)).not.toContain('good-token');
  expect(await ask(login('alice', 'good-token'))).toBe('Access-Accept');
});

test('garbage is dropped and logged', async () => {
  client.send(Buffer.from('not radius at all'), service.port, '127.0.0.1');
  await expect.poll(() => log.some((line) => line.includes('dropped'))).toBe(true);
  expect(await ask(login('alice', 'good-token'))).toBe('Access-Accept');
});

test('each service has its own secret of at least 128 bits', async () => {
  const other = await startPasswordService(() => false);
  try {
    expect(other.secret).not.toBe(service.secret);
    expect(Buffer.from(service.secret, 'hex').length).toBeGreaterThanOrEqual(16);
  } finally {
    await other.close();
  }
});
