// A real notebook UI for tests: Debian's classic Jupyter Notebook (6.4) with our kernelspec, in
// throwaway Jupyter directories, driven by Debian's Chromium through playwright-core (which never
// downloads a browser here: it launches /usr/bin/chromium). `.ci/run` installs both packages.
// Everything started here is stopped by `stop()`; no fixed sleeps, only waits on conditions.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { BUILT_KERNEL_CLI } from './jupyter';
import { freePort } from './postgres';

const run = promisify(execFile);

export const CHROMIUM = '/usr/bin/chromium';
const PYTHON = '/usr/bin/python3';

/**
 * Chromium's flags on this machine (/work/.library/env/machines/node.md): no sandbox as root, no
 * GPU, and nothing that calls home (the network is closed; background requests fail in bulk).
 * Playwright adds --headless and a fresh --user-data-dir of its own.
 */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** What the page logged as an error, with where it came from. */
export interface PageProblem {
  page: string;
  text: string;
  url: string;
}

export interface NotebookBrowser {
  /** The folder the notebook server serves (its notebook-dir). */
  readonly notebooks: string;
  readonly browser: Browser;
  /** `http://127.0.0.1:PORT`, and the token every URL carries. */
  readonly baseUrl: string;
  readonly token: string;
  /** A new tab at `path` (e.g. `/notebooks/x.ipynb`) whose console errors are recorded. */
  open(path: string): Promise<Page>;
  /** Records console errors of a page opened some other way (a tab the notebook UI opened). */
  watch(page: Page): void;
  /** Console errors and uncaught page errors so far, across every tab. */
  readonly problems: PageProblem[];
  stop(): Promise<void>;
}

/** Fails with what to install when the machine lacks Chromium or the classic Notebook. */
export async function checkNotebookBrowserPrerequisites(): Promise<void> {
  const missing: string[] = [];
  if (!existsSync(CHROMIUM)) missing.push(`chromium (${CHROMIUM})`);
  try {
    await run(PYTHON, ['-c', 'import notebook.notebookapp']);
  } catch {
    missing.push('jupyter-notebook (the classic Notebook 6: python3 -c "import notebook.notebookapp" failed)');
  }
  if (missing.length > 0) {
    throw new Error(`the browser test needs Debian's ${missing.join(' and ')}: run bash .ci/run, or apt-get install -y chromium jupyter-notebook`);
  }
}

/**
 * Installs the built kernelspec into a throwaway prefix, starts a Notebook 6 server on a free
 * port with a known token (as root: --allow-root), and launches Chromium. `notebooks` starts
 * empty: copy what the test opens into it.
 */
export async function startNotebookBrowser(): Promise<NotebookBrowser> {
  await checkNotebookBrowserPrerequisites();
  const root = await mkdtemp(join(tmpdir(), 'lakebase-notebook-ui-'));
  const dirs = { notebooks: join(root, 'notebooks'), data: join(root, 'data'), config: join(root, 'config'), runtime: join(root, 'runtime'), prefix: join(root, 'prefix') };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  await run(process.execPath, [BUILT_KERNEL_CLI, 'install', '--prefix', dirs.prefix]);

  const token = `lakebase-test-${process.pid}`;
  const env = {
    ...process.env,
    // Our kernelspec first; Jupyter's own data, config and runtime files in throwaway folders.
    JUPYTER_PATH: join(dirs.prefix, 'share', 'jupyter'),
    JUPYTER_DATA_DIR: dirs.data,
    JUPYTER_CONFIG_DIR: dirs.config,
    JUPYTER_RUNTIME_DIR: dirs.runtime,
  };
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  const stop = async () => {
    // A browser that already died must not keep the server and its kernels running.
    await browser?.close().catch((error: unknown) => console.warn(`closing Chromium failed: ${String(error)}`));
    if (server) await stopServer(server);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const started = await startServer(env, dirs.notebooks, token);
    server = started.server;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    const problems: PageProblem[] = [];
    const watch = (page: Page) => {
      const name = () => page.url().replace(/[?#].*$/, '');
      page.on('console', (message: ConsoleMessage) => {
        if (message.type() === 'error') problems.push({ page: name(), text: message.text(), url: message.location().url });
      });
      page.on('pageerror', (error) => problems.push({ page: name(), text: `uncaught: ${error.message}`, url: '' }));
    };
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const opened = browser;
    return {
      notebooks: dirs.notebooks,
      browser: opened,
      baseUrl: started.baseUrl,
      token,
      problems,
      watch,
      async open(path) {
        const page = await context.newPage();
        watch(page);
        await page.goto(`${started.baseUrl}${path}${path.includes('?') ? '&' : '?'}token=${token}`);
        return page;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `jupyter notebook` on a free port; resolves once its REST API answers. */
async function startServer(env: NodeJS.ProcessEnv, notebookDir: string, token: string): Promise<{ server: ChildProcess; baseUrl: string }> {
  // A port found free can be taken before the server binds it (tests run side by side): then
  // the server exits at once (--port-retries=0), and another port is tried.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = spawn(
      PYTHON,
      [
        '-m', 'notebook', '--no-browser', '--allow-root', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0',
        `--NotebookApp.token=${token}`, `--notebook-dir=${notebookDir}`,
      ],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    server.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-20_000);
    });
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    const baseUrl = `http://127.0.0.1:${port}`;
    const answered = (async () => {
      for (;;) {
        const status = await fetch(`${baseUrl}/api/status?token=${token}`).then((response) => response.status).catch(() => 0);
        if (status === 200) return true;
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (server.exitCode !== null) return false;
      }
    })();
    const up = await Promise.race([answered, exited.then(() => false)]);
    if (up) return { server, baseUrl };
    if (attempt >= 3 || !/already in use|Address already/i.test(log)) {
      throw new Error(`jupyter notebook did not start (exit ${server.exitCode}):\n${log}`);
    }
  }
}

/**
 * SIGTERM makes Notebook 6 shut its kernels down and exit; a server that does not exit within
 * 20 s is killed (its kernels then exit by themselves: they watch their parent, JPY_PARENT_PID).
 */
async function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}
