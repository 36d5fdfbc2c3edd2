// The workspace client against the real local emulator, through the SDK: identities for PAT and
// OAuth M2M auth, the Postgres user resolution, instances, credentials, roles, and the errors a
// wrong credential gives.
import { inspect } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { LakebaseError } from '../lakebase/errors';
import { openWorkspace, Workspace } from '../lakebase/workspace';
import { startTestEmulator, TestEmulator } from './support/emulator-workspace';

let emulator: TestEmulator;
let user: Workspace;

beforeAll(async () => {
  emulator = await startTestEmulator();
  user = await emulator.userWorkspace();
  await user.createInstance({ name: 'inventory', capacity: 'CU_1' });
});
afterAll(async () => {
  await emulator?.stop();
});

test('a PAT identity is the SCIM Me user; the Postgres user defaults to it', async () => {
  expect(user.authType).toBe('pat');
  expect(await user.identity()).toEqual({ name: emulator.current.user.userName, kind: 'user' });
  expect(await user.postgresUser()).toBe(emulator.current.user.userName);
});

test("an OAuth M2M identity is the service principal's application id", async () => {
  const principal = await emulator.servicePrincipalWorkspace();
  expect(principal.authType).toBe('oauth-m2m');
  const applicationId = emulator.current.servicePrincipal.applicationId;
  expect(await principal.identity()).toEqual({ name: applicationId, kind: 'service-principal' });
  expect(await principal.postgresUser()).toBe(applicationId);
});

test('DATABRICKS_HOST and DATABRICKS_TOKEN from the environment are enough, and PGUSER wins over SCIM Me', async () => {
  const env = { DATABRICKS_HOST: emulator.current.host, DATABRICKS_TOKEN: emulator.current.user.token, PGUSER: 'someone-else' };
  const workspace = await openWorkspace({ env });
  expect(workspace.host).toBe(emulator.current.host);
  expect(await workspace.postgresUser()).toBe('someone-else');
  expect(await workspace.postgresUser('explicit')).toBe('explicit');
  expect((await workspace.identity()).name).toBe(emulator.current.user.userName);
});

test('instances: get, list, stop and start through the API', async () => {
  const instance = await user.getInstance('inventory');
  expect(instance).toMatchObject({ name: 'inventory', state: 'AVAILABLE', creator: emulator.current.user.userName });
  expect(instance.read_write_dns).toBeTruthy();
  expect((await user.listInstances()).map((listed) => listed.name)).toContain('inventory');
  expect((await user.stopInstance('inventory')).state).toBe('STOPPED');
  expect((await user.startInstance('inventory')).state).toBe('AVAILABLE');
});

test('a credential is a token with a future expiry; it never shows in errors or inspect', async () => {
  const credential = await user.generateCredential({ instanceNames: ['inventory'], requestId: 'test-request-1' });
  expect(credential.token.length).toBeGreaterThan(20);
  expect(credential.expirationTime.getTime()).toBeGreaterThan(Date.now());
  expect(inspect(user, { depth: 10, showHidden: true })).not.toContain(emulator.current.user.token);
});

test('roles: a missing one is undefined, a created one is found', async () => {
  const applicationId = emulator.current.servicePrincipal.applicationId;
  expect(await user.findRole('inventory', applicationId)).toBeUndefined();
  await user.createRole('inventory', { name: applicationId, identity_type: 'SERVICE_PRINCIPAL' });
  expect(await user.findRole('inventory', applicationId)).toMatchObject({ name: applicationId });
});

test('a wrong PAT is WORKSPACE_UNAUTHENTICATED and names what to check', async () => {
  const wrong = await openWorkspace({ host: emulator.current.host, token: 'dapi00000000000000000000000000000000', authType: 'pat', env: {} });
  const error = await wrong.getInstance('inventory').catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(LakebaseError);
  expect(error).toMatchObject({ code: 'WORKSPACE_UNAUTHENTICATED' });
  expect((error as LakebaseError).hint).toMatch(/DATABRICKS_TOKEN/);
});

test('a wrong client secret fails when the workspace is opened, without showing the secret', async () => {
  const secret = 'not-the-secret-of-this-principal';
  const error = await openWorkspace({
    host: emulator.current.host,
    clientId: emulator.current.servicePrincipal.applicationId,
    clientSecret: secret,
    authType: 'oauth-m2m',
    env: {},
  }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(LakebaseError);
  expect(error).toMatchObject({ code: 'WORKSPACE_AUTH_FAILED' });
  expect((error as LakebaseError).hint).toMatch(/DATABRICKS_CLIENT_SECRET/);
  expect(inspect(error, { depth: 10 })).not.toContain(secret);
});

test('an invalid instance name is INVALID_REQUEST with the service message', async () => {
  const error = await user.createInstance({ name: 'not_valid!', capacity: 'CU_1' }).catch((caught: unknown) => caught);
  expect(error).toMatchObject({ code: 'INVALID_REQUEST' });
});
