// `lakebase-kernel run NOTEBOOK.ipynb`: runs a notebook headless with this kernel over the real
// protocol (a subprocess driven through ZeroMQ, like nbclient does), prints the outputs as text
// while they arrive, writes the executed notebook, and exits non-zero when a cell fails.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { startKernel } from './wire/client';
import type { JupyterMessage } from './wire/messages';
import { LakebaseError } from '../lakebase/errors';

export interface RunNotebookOptions {
  notebook: string;
  /**
   * Where to write the executed notebook; default `NAME.executed.ipynb` beside it, so that a
   * tutorial run never overwrites the tutorial (nbconvert likewise writes `NAME.nbconvert.ipynb`).
   */
  output?: string;
  /** Per-cell limit; a cell running longer fails the run. Default: none. */
  timeoutSeconds?: number;
  /** Run every cell even after one fails (the exit code still says a cell failed). */
  allowErrors?: boolean;
  /** This package's CLI, which the kernel subprocess runs. */
  cliPath: string;
  /** Where progress and outputs are printed. */
  print?: (text: string) => void;
}

type Output = Record<string, unknown> & { output_type: string };

interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
  execution_count?: number | null;
  metadata?: Record<string, unknown>;
}

interface Notebook {
  nbformat: number;
  cells: Cell[];
  metadata?: Record<string, unknown>;
}

/** Returns the process exit code: 0 when every cell ran, 1 when one failed. */
export async function runNotebook(options: RunNotebookOptions): Promise<number> {
  const print = options.print ?? ((text: string) => process.stdout.write(text));
  const path = resolve(options.notebook);
  const notebook = readNotebook(path);
  const color = options.print === undefined && process.stdout.isTTY === true;

  const kernel = await startKernel({
    argv: [process.execPath, options.cliPath, 'kernel', '--connection-file', '{connection_file}'],
    // Jupyter starts kernels in the notebook's folder: relative paths in cells mean the same.
    cwd: dirname(path),
    interruptMode: 'signal',
    output: (stream, text) => {
      if (stream === 'stderr') process.stderr.write(text);
    },
  });
  let failed = false;
  try {
    for (const [index, cell] of notebook.cells.entries()) {
      if (cell.cell_type !== 'code') continue;
      const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
      if (failed && !options.allowErrors) {
        cell.outputs = [];
        cell.execution_count = null;
        continue;
      }
      print(`\n── cell ${index + 1} ${'─'.repeat(60)}\n${indent(source)}\n`);
      const outputs = new NotebookOutputs();
      const execution = await kernel.execute(source, {
        stopOnError: !options.allowErrors && !tagged(cell, 'raises-exception'),
        timeoutMs: options.timeoutSeconds === undefined ? undefined : options.timeoutSeconds * 1000,
        onIopub: (message) => {
          const shown = outputs.add(message);
          if (shown) print(textOf(shown, color));
        },
      });
      cell.outputs = outputs.list;
      const count = execution.reply.content.execution_count;
      cell.execution_count = typeof count === 'number' ? count : null;
      // nbclient's convention: a cell tagged raises-exception is meant to fail (a tutorial showing
      // an error message); any other failing cell fails the run.
      if (execution.reply.content.status !== 'ok' && !tagged(cell, 'raises-exception')) failed = true;
    }
  } finally {
    await kernel.shutdown();
    await kernel.close();
  }
  const target = resolve(options.output ?? path.replace(/(\.ipynb)?$/, '.executed.ipynb'));
  writeFileSync(target, `${JSON.stringify(notebook, null, 1)}\n`);
  print(`\n${failed ? 'A cell failed' : 'All cells ran'}; wrote ${target}\n`);
  return failed ? 1 : 0;
}

function tagged(cell: Cell, tag: string): boolean {
  const tags = cell.metadata?.tags;
  return Array.isArray(tags) && tags.includes(tag);
}

function readNotebook(path: string): Notebook {
  let notebook: Notebook;
  try {
    notebook = JSON.parse(readFileSync(path, 'utf8')) as Notebook;
  } catch (error) {
    throw new LakebaseError('NOTEBOOK_UNREADABLE', `cannot read the notebook ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (notebook.nbformat !== 4 || !Array.isArray(notebook.cells)) {
    throw new LakebaseError('NOTEBOOK_UNSUPPORTED', `${path} is not a version 4 Jupyter notebook`, {
      hint: 'convert it with: jupyter nbconvert --to notebook --nbformat 4',
    });
  }
  return notebook;
}

/** The outputs of one cell as nbformat 4 stores them, built from iopub messages. */
class NotebookOutputs {
  readonly list: Output[] = [];
  /** Outputs shown under a display id, which update_display_data replaces in place. */
  readonly #byDisplayId = new Map<string, Output[]>();
  #clearOnNext = false;

  /** Records one message; returns the output to print, if it adds one. */
  add(message: JupyterMessage): Output | undefined {
    const content = message.content as Record<string, unknown>;
    const displayId = (content.transient as { display_id?: string } | undefined)?.display_id;
    switch (message.header.msg_type) {
      case 'stream': {
        this.#clearIfAsked();
        const last = this.list[this.list.length - 1];
        const output = { output_type: 'stream', name: content.name, text: String(content.text) };
        if (last?.output_type === 'stream' && last.name === content.name) last.text = String(last.text) + output.text;
        else this.list.push(output);
        return output;
      }
      case 'display_data':
      case 'execute_result':
      case 'error': {
        this.#clearIfAsked();
        const output: Output = { output_type: message.header.msg_type, ...withoutTransient(content) };
        if (output.output_type !== 'error') output.metadata ??= {};
        this.list.push(output);
        if (displayId) this.#byDisplayId.set(displayId, [...(this.#byDisplayId.get(displayId) ?? []), output]);
        return output;
      }
      case 'update_display_data': {
        for (const output of displayId ? this.#byDisplayId.get(displayId) ?? [] : []) {
          output.data = content.data;
          output.metadata = content.metadata ?? {};
        }
        return { output_type: 'update_display_data', data: content.data };
      }
      case 'clear_output':
        if (content.wait === true) this.#clearOnNext = true;
        else this.list.length = 0;
        return undefined;
      default:
        return undefined;
    }
  }

  #clearIfAsked(): void {
    if (this.#clearOnNext) {
      this.list.length = 0;
      this.#clearOnNext = false;
    }
  }
}

function withoutTransient(content: Record<string, unknown>): Record<string, unknown> {
  const { transient: _transient, ...rest } = content;
  return rest;
}

const ANSI = /\x1b\[[0-9;]*m/g;

function textOf(output: Output, color: boolean): string {
  const plain = (text: string) => (color ? text : text.replace(ANSI, ''));
  switch (output.output_type) {
    case 'stream':
      return plain(String(output.text));
    case 'error':
      return `${plain((output.traceback as string[]).join('\n'))}\n`;
    default: {
      const data = output.data as Record<string, unknown> | undefined;
      const text = data?.['text/plain'];
      return typeof text === 'string' ? `${plain(text)}\n` : '';
    }
  }
}

function indent(source: string): string {
  return source
    .split('\n')
    .map((line) => `  │ ${line}`)
    .join('\n');
}
