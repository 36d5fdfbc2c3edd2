// What a finished sync returns: a value for programs (rows, bytes, time, the watermark moved) that
// also renders itself as a short summary in a notebook.
import { JUPYTER_DISPLAY } from '../contracts';
import type { MimeBundle } from '../contracts';
import type { TypeMappingRule } from './types';

export interface ColumnMapping {
  name: string;
  sourceType: string;
  targetType: string;
  rule: TypeMappingRule;
}

export interface SyncResultInit {
  mode: 'FULL' | 'INCREMENTAL';
  source: string;
  target: string;
  /** Rows read from the source. */
  rowsRead: number;
  /** Rows inserted or updated in the target. */
  rowsWritten: number;
  bytes: number;
  elapsedMs: number;
  /** Whether the sync created the target table. */
  created: boolean;
  key: readonly string[] | undefined;
  columns: readonly ColumnMapping[];
  watermark?: { column: string; from: string | undefined; to: string | undefined };
  /** The Delta versions a change-data-feed sync moved between (`from` undefined: a snapshot). */
  sourceVersion?: { from: number | undefined; to: number };
}

export class SyncResult {
  readonly mode: SyncResultInit['mode'];
  readonly source: string;
  readonly target: string;
  readonly rowsRead: number;
  readonly rowsWritten: number;
  readonly bytes: number;
  readonly elapsedMs: number;
  readonly created: boolean;
  readonly key: readonly string[] | undefined;
  readonly columns: readonly ColumnMapping[];
  readonly watermark: SyncResultInit['watermark'];
  readonly sourceVersion: SyncResultInit['sourceVersion'];

  constructor(init: SyncResultInit) {
    this.mode = init.mode;
    this.source = init.source;
    this.target = init.target;
    this.rowsRead = init.rowsRead;
    this.rowsWritten = init.rowsWritten;
    this.bytes = init.bytes;
    this.elapsedMs = init.elapsedMs;
    this.created = init.created;
    this.key = init.key;
    this.columns = init.columns;
    this.watermark = init.watermark;
    this.sourceVersion = init.sourceVersion;
  }

  get rowsPerSecond(): number {
    return this.elapsedMs > 0 ? (this.rowsRead * 1000) / this.elapsedMs : 0;
  }

  toString(): string {
    const lines = [`${this.mode} sync ${this.source} → ${this.target}`];
    const moved =
      this.mode === 'FULL'
        ? `${count(this.rowsWritten)} rows`
        : `${count(this.rowsRead)} changed ${this.rowsRead === 1 ? 'row' : 'rows'} read, ${count(this.rowsWritten)} upserted`;
    lines.push(`${moved} (${formatBytes(this.bytes)}) in ${formatSeconds(this.elapsedMs)}, ${count(Math.round(this.rowsPerSecond))} rows/s`);
    if (this.created) {
      lines.push(`created ${this.target}${this.key?.length ? ` with primary key (${this.key.join(', ')})` : ' (no primary key)'}`);
      const changed = this.columns.filter((column) => column.rule !== 'same');
      for (const column of changed) lines.push(`  ${column.name}: ${column.sourceType} → ${column.targetType} (${RULE_TEXT[column.rule]})`);
    }
    const watermark = this.watermark;
    if (watermark) lines.push(`watermark ${watermark.column}: ${watermark.from ?? '(start)'} → ${watermark.to ?? '(no rows)'}`);
    const version = this.sourceVersion;
    if (version) {
      if (version.from === undefined) lines.push(`Delta version ${version.to} (a snapshot)`);
      else if (version.from >= version.to) lines.push(`no Delta version after ${version.from}: nothing to apply`);
      else lines.push(`Delta versions ${version.from + 1} to ${version.to} (change data feed)`);
    }
    return lines.join('\n');
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { 'text/plain': this.toString() };
  }
}

const RULE_TEXT: Record<TypeMappingRule, string> = {
  same: 'same type',
  'same-name-in-target': 'a type of that name exists in the target',
  'as-text': 'not in the target database, loaded as text',
};

function count(value: number): string {
  return value.toLocaleString('en-US');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
