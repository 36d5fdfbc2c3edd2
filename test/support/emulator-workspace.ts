// A local Lakebase emulator for one test file, in a temporary data directory on a fixed free port
// (fixed so that a stop + start in the middle of a test comes back at the same address), and
// workspaces opened on it as its user and as its service principal, through the SDK.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningEmulator } from '../../emulator/contracts';
import { startEmulator } from '../../emulator/index';
import { openWorkspace, Workspace } from '../../lakebase/workspace';
import { freePort } from './postgres';

export interface TestEmulator {
  /** The running emulator; replaced by `restart()`. */
  current: RunningEmulator;
  dataDir: string;
  port: number;
  /** The emulator's default user (a PAT), who creates the instances. */
  userWorkspace(): Promise<Workspace>;
  /** The emulator's service principal (OAuth M2M). */
  servicePrincipalWorkspace(): Promise<Workspace>;
  /** Stops the emulator (state stays on disk) until `resume()`. */
  pause(): Promise<void>;
  /** Starts it again on the same data directory and port. */
  resume(): Promise<void>;
  /** `pause()`, wait, `resume()`. */
  restart(pauseMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestEmulator(options: { tokenTtlSeconds?: number; transitionDelayMs?: number } = {}): Promise<TestEmulator> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lakebase-client-emulator-'));
  const port = await freePort();
  const start = () => startEmulator({ dataDir, port, tokenTtlSeconds: options.tokenTtlSeconds, transitionDelayMs: options.transitionDelayMs ?? 0 });
  let running = true;
  const emulator: TestEmulator = {
    current: await start(),
    dataDir,
    port,
    userWorkspace: () =>
      openWorkspace({ host: emulator.current.host, token: emulator.current.user.token, authType: 'pat', env: {} }),
    servicePrincipalWorkspace: () =>
      openWorkspace({
        host: emulator.current.host,
        clientId: emulator.current.servicePrincipal.applicationId,
        clientSecret: emulator.current.servicePrincipal.clientSecret,
        authType: 'oauth-m2m',
        env: {},
      }),
    async pause() {
      running = false;
      await emulator.current.stop();
    },
    async resume() {
      emulator.current = await start();
      running = true;
    },
    async restart(pauseMs = 0) {
      await emulator.pause();
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      await emulator.resume();
    },
    async stop() {
      if (running) await emulator.current.stop();
      running = false;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return emulator;
}
