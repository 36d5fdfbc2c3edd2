// Issue 6 over ZeroMQ with the real kernel and a real emulator daemon (the embedded default): the
// live status line on the wire (one display_data, then update_display_data under the same display
// id, ending in the final state), an interrupt that stops the waiting and not the operation,
// confirmation through input_request (and its refusal without stdin), a verb's value typed in
// TypeScript, the Apps snippet run as printed in a kernel that has an App's environment, and the
// same verbs from the terminal (`lakebase-kernel instance list`). The Apps snippet is run for a
// Provisioned instance and for an Autoscaling branch (`@databricks/lakebase`'s pool).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ensureEmulatorDaemon, stopEmulatorDaemon } from '../emulator/index';
import type { EmulatorEndpoint } from '../emulator/contracts';
import type { KernelClient } from '../kernel/wire/client';
import type { JupyterMessage } from '../kernel/wire/messages';
import { BUILT_KERNEL_CLI, interruptUntilSettled, runCell, startBuiltKernel, stopKernel } from './support/jupyter';

const run = promisify(execFile);

let dataDir: string;
let emulator: EmulatorEndpoint;
let kernel: KernelClient;
const kernels: KernelClient[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-kernel-provisioning-'));
  // States last long enough to be seen between polls.
  emulator = await ensureEmulatorDaemon({ dataDir, transitionDelayMs: 500 });
  kernel = await startBuiltKernel({ output: 'ignore', env: { ...process.env, LAKEBASE_EMULATOR_DIR: dataDir } });
  kernels.push(kernel);
}, 120_000);

afterAll(async () => {
  for (const each of kernels) await stopKernel(each).catch(() => undefined);
  await stopEmulatorDaemon(dataDir);
  await rm(dataDir, { recursive: true, force: true });
});

/** The status-line messages of an execution: display_data and update_display_data, in order. */
function displayMessages(messages: readonly JupyterMessage[]) {
  return messages
    .filter((message) => message.header.msg_type === 'display_data' || message.header.msg_type === 'update_display_data')
    .map((message) => ({
      type: message.header.msg_type,
      id: (message.content.transient as { display_id?: string } | undefined)?.display_id,
      text: String((message.content.data as Record<string, unknown>)['text/plain']),
      html: String((message.content.data as Record<string, unknown>)['text/html'] ?? ''),
    }));
}

test('create shows one live status line: a display_data, then updates under its display id, ending AVAILABLE', async () => {
  const cell = await runCell(kernel, '%lakebase instance create wired --capacity CU_1');
  expect(cell.status).toBe('ok');
  const shown = displayMessages(cell.execution.messages);
  expect(shown[0].type).toBe('display_data');
  expect(shown[0].id).toMatch(/^lakebase-status-/);
  expect(shown[0].text).toMatch(/^instance wired · create · STARTING · /);
  expect(shown.slice(1).length).toBeGreaterThan(0);
  expect(shown.slice(1).every((message) => message.type === 'update_display_data' && message.id === shown[0].id)).toBe(true);
  expect(shown.at(-1)!.text).toMatch(/^instance wired · create · AVAILABLE · .* · read_write_dns 127\./);
  expect(shown.at(-1)!.html).toContain('<span style="color:#1a7f37">AVAILABLE</span>');
  // The cell's value is the instance.
  expect(String(cell.result?.['text/plain'])).toMatch(/^instance wired\n {2}state +AVAILABLE/);
});

test('the value of a verb is typed in TypeScript', async () => {
  const stored = await runCell(kernel, 'const made = %lakebase instance get wired\nmade.read_write_dns?.length');
  expect(stored.status).toBe('ok');
  expect(Number(stored.result?.['text/plain'])).toBeGreaterThan(0);
  const wrong = await runCell(kernel, 'const n: number = made.name;');
  expect(wrong.status).toBe('error');
  expect(wrong.error?.evalue).toContain("Type 'string' is not assignable to type 'number'");
  const state = await runCell(kernel, 'const s: "AVAILABLE" | "STOPPED" | string = made.state ?? ""; made.effective_node_count');
  expect(state.status).toBe('ok');

  // Every family's values: roles, permissions, and the sentence a delete says.
  const roles = await runCell(kernel, 'const roles = %lakebase instance-role list wired\nroles.map((role) => role.identity_type).join()');
  expect(roles.status, roles.error?.evalue).toBe('ok');
  expect(String(roles.result?.['text/plain'])).toBe("'USER'");
  const acl = await runCell(kernel, 'const acl = %lakebase instance permissions wired\nacl.access_control_list?.length');
  expect(acl.status, acl.error?.evalue).toBe('ok');
  const gone = await runCell(kernel, 'const gone = %lakebase instance delete nowhere --allow-missing --yes\nconst said: string = gone.text; said');
  expect(gone.status, gone.error?.evalue).toBe('ok');
  expect(String(gone.result?.['text/plain'])).toBe("'There is no instance nowhere: nothing to delete.'");
  const notAnInstance = await runCell(kernel, 'gone.state');
  expect(notAnInstance.status).toBe('error');
  expect(notAnInstance.error?.evalue).toContain("Property 'state' does not exist on type 'LakebaseMessage'");
  // A stop may be declined: its value is an instance or a sentence, and the type says so.
  const stop = await runCell(kernel, 'async function stopIt() { const stopped = %lakebase instance stop wired --yes\n return stopped.state }');
  expect(stop.status).toBe('error');
  expect(stop.error?.evalue).toContain("Property 'state' does not exist on type 'LakebaseMessage'");
});

test('an interrupt stops the waiting and says so; the operation goes on', async () => {
  let sawLine: () => void = () => undefined;
  const lineShown = new Promise<void>((resolve) => (sawLine = resolve));
  const running = kernel.execute('%lakebase instance create interrupted --capacity CU_1', {
    onIopub: (message) => {
      if (message.header.msg_type === 'display_data') sawLine();
    },
  });
  await lineShown;
  await interruptUntilSettled(running, () => kernel.interrupt());
  const execution = await running;
  const shown = displayMessages(execution.messages);
  expect(shown.at(-1)!.text).toMatch(/stopped waiting; the creation goes on\. Check on it with %lakebase instance get interrupted$/);
  const error = execution.messages.find((message) => message.header.msg_type === 'error')!.content as { ename: string; evalue: string; traceback: string[] };
  expect(error.ename).toBe('WaitStoppedError');
  expect(error.traceback.join('\n')).toContain('WAIT_STOPPED');
  for (;;) {
    const got = await runCell(kernel, '%lakebase instance get interrupted');
    if (/^ {2}state +AVAILABLE$/m.test(String(got.result?.['text/plain']))) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

test('delete asks through input_request; without stdin it needs --yes', async () => {
  const headless = await runCell(kernel, '%lakebase instance delete interrupted');
  expect(headless.status).toBe('error');
  expect(headless.error?.traceback.join('\n')).toContain('To do it anyway, run: %lakebase instance delete interrupted --yes');
  const prompts: string[] = [];
  const asked = await runCell(kernel, '%lakebase instance delete interrupted', {
    onInput: (request) => {
      prompts.push(request.prompt);
      return 'y';
    },
  });
  expect(asked.status).toBe('ok');
  expect(prompts).toEqual(['Deletes the instance interrupted with all its data and roles. This cannot be undone.\nDelete the instance interrupted? [y/N] ']);
  expect(String(asked.result?.['text/plain'])).toBe('Deleted the instance interrupted.');
});

/**
 * Runs an Apps snippet as printed, in a kernel started with a Databricks App's environment (no
 * PGPASSWORD: the app's service principal and its OAuth secret), and checks that its pool logs in
 * as that principal. `resource` holds what the app's database resource adds (PGHOST, ...).
 */
async function runAsApp(snippet: string, principal: string, resource: Record<string, string>): Promise<void> {
  const app = await startBuiltKernel({
    output: 'ignore',
    env: {
      PATH: process.env.PATH,
      HOME: dataDir,
      LAKEBASE_KERNEL_HISTORY: 'off',
      PGPORT: '5432',
      PGDATABASE: 'databricks_postgres',
      PGUSER: principal,
      PGSSLMODE: 'require',
      PGAPPNAME: 'orders-app',
      DATABRICKS_HOST: emulator.host,
      DATABRICKS_CLIENT_ID: principal,
      DATABRICKS_CLIENT_SECRET: emulator.servicePrincipal.clientSecret,
      // The emulator's CA, as an App trusts the workspace's.
      NODE_EXTRA_CA_CERTS: emulator.caCertPath,
      ...resource,
    },
  });
  kernels.push(app);
  const defined = await runCell(app, snippet);
  expect(defined.status, defined.error?.evalue).toBe('ok');
  const used = await runCell(app, "const { rows } = await pool.query('SELECT current_user AS who');\nrows[0].who");
  expect(used.status, used.error?.evalue).toBe('ok');
  expect(String(used.result?.['text/plain'])).toBe(`'${principal}'`);
  expect((await runCell(app, 'await pool.end()')).status).toBe('ok');
}

test('the Apps snippet runs as printed in a kernel with an App\'s environment', async () => {
  const principal = emulator.servicePrincipal.applicationId;
  const setup = await runCell(
    kernel,
    [`%lakebase instance grant wired ${principal}`, `%lakebase instance-role create wired ${principal}`, '%lakebase apps resources wired'].join('\n'),
  );
  expect(setup.status).toBe('ok');
  const printed = String(setup.result?.['text/plain']);
  const snippet = printed.slice(printed.indexOf('\n', printed.indexOf('── TypeScript')) + 1);
  expect(snippet).toContain('const pool = new pg.Pool(');

  const host = String((await runCell(kernel, 'made.read_write_dns')).result?.['text/plain']).replace(/'/g, '');
  // What a Databricks App with the database resource gets.
  await runAsApp(snippet, principal, { PGHOST: host });
});

test('for an Autoscaling branch, apps resources prints the postgres resource, and its pool runs as printed in an App\'s environment', async () => {
  const principal = emulator.servicePrincipal.applicationId;
  const setup = await runCell(
    kernel,
    [
      '%lakebase project create appsdemo --connect',
      // What adding the resource in the Apps UI does: the app's principal may use the project, and has a role.
      `%lakebase project grant appsdemo ${principal}`,
      `%lakebase role create appsdemo/production ${principal}`,
      '%lakebase apps resources',
    ].join('\n'),
  );
  expect(setup.status, setup.error?.evalue).toBe('ok');
  const printed = String(setup.result?.['text/plain']);
  const resource = JSON.parse(printed.slice(printed.indexOf('{'), printed.indexOf('\n}') + 2)) as Record<string, unknown>;
  expect(resource).toEqual({ name: 'postgres', postgres: { branch: 'projects/appsdemo/branches/production', database: 'databricks_postgres', permission: 'CAN_CONNECT_AND_CREATE' } });
  expect(printed).toContain('    value: "projects/appsdemo/branches/production/endpoints/primary"');
  const snippet = printed.slice(printed.indexOf('\n', printed.indexOf('── TypeScript')) + 1);
  expect(snippet).toContain('createLakebasePool(');

  const primary = await fetch(`${emulator.host}/api/2.0/postgres/projects/appsdemo/branches/production/endpoints/primary`, { headers: { Authorization: `Bearer ${emulator.user.token}` } });
  const pgHost = ((await primary.json()) as { status: { hosts: { host: string } } }).status.hosts.host;
  // What a Databricks App with the postgres resource gets, and the env entry app.yaml adds.
  await runAsApp(snippet, principal, { PGHOST: pgHost, LAKEBASE_ENDPOINT: 'projects/appsdemo/branches/production/endpoints/primary' });
});

test('the same verbs from a terminal: text, --json and exit codes', async () => {
  const env = { ...process.env, LAKEBASE_EMULATOR_DIR: dataDir };
  const listed = await run(process.execPath, [BUILT_KERNEL_CLI, 'instance', 'list'], { env });
  expect(listed.stdout).toMatch(/^ +name +\| +state +\|/);
  expect(listed.stdout).toContain('wired');
  const json = await run(process.execPath, [BUILT_KERNEL_CLI, 'instance', 'get', 'wired', '--json'], { env });
  expect(JSON.parse(json.stdout)).toMatchObject({ name: 'wired', state: 'AVAILABLE' });
  const missing = await run(process.execPath, [BUILT_KERNEL_CLI, 'instance', 'get', 'nowhere'], { env }).catch((error: { code: number; stderr: string }) => error);
  expect(missing).toMatchObject({ code: 1 });
  expect((missing as { stderr: string }).stderr).toContain('There is no database instance named nowhere');
  const usage = await run(process.execPath, [BUILT_KERNEL_CLI, 'instance', 'creat', 'x'], { env }).catch((error: { code: number; stderr: string }) => error);
  expect(usage).toMatchObject({ code: 2 });
  expect((usage as { stderr: string }).stderr).toContain('Did you mean lakebase-kernel instance create?');
  // No TTY here: a destructive verb needs --yes, and then does it.
  const refused = await run(process.execPath, [BUILT_KERNEL_CLI, 'instance', 'delete', 'wired'], { env }).catch((error: { code: number; stderr: string }) => error);
  expect(refused).toMatchObject({ code: 2 });
  expect((refused as { stderr: string }).stderr).toContain('lakebase-kernel instance delete wired --yes');
  const deleted = await run(process.execPath, [BUILT_KERNEL_CLI, 'instance', 'delete', 'wired', '--yes'], { env });
  expect(deleted.stdout).toBe('Deleted the instance wired.\n');
  expect(deleted.stderr).toMatch(/^instance wired · delete · DELETED · .*\n$/);
});
