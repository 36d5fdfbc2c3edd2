// Small measuring tools shared by the benchmarks: timers, statistics, process memory.
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export async function timeIt<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = now();
  const value = await work();
  return { ms: now() - start, value };
}

export interface Summary {
  n: number;
  median: number;
  p95: number;
  p99: number;
  min: number;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, median: at(0.5), p95: at(0.95), p99: at(0.99), min: sorted[0] };
}

/** Runs `work` `count` times after `warmUp` unmeasured runs; returns the milliseconds of each. */
export async function sample(count: number, warmUp: number, work: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmUp; i += 1) await work();
  const samples: number[] = [];
  for (let i = 0; i < count; i += 1) samples.push((await timeIt(work)).ms);
  return samples;
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

/** CPU time (user and system) a process has used so far, in ms, from /proc/PID/stat (Linux). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name; utime and stime are fields 14 and 15 of proc(5), in clock ticks (100 a second).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Resident memory of a process now, in MiB. */
export function residentMiB(pid: number): number {
  return statusField(pid, 'VmRSS');
}

/** Peak resident memory of a process since the last `resetPeak`, in MiB (Linux). */
export function peakMiB(pid: number): number {
  return statusField(pid, 'VmHWM');
}

/** Resets a process's peak RSS (VmHWM) to its current RSS: `echo 5 > /proc/PID/clear_refs`. */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** Runs a command to completion; returns its wall time and peak RSS (from the OS, via Python). */
export function runMeasured(command: string[], env: NodeJS.ProcessEnv): { ms: number; peakMiB: number; stdout: string } {
  // getrusage(RUSAGE_CHILDREN).ru_maxrss is the peak RSS of the waited-for child, in KiB on Linux.
  const wrapper = [
    'import resource, subprocess, sys, time',
    'start = time.perf_counter()',
    'done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)',
    'elapsed = (time.perf_counter() - start) * 1000',
    'if done.returncode: sys.exit(done.stderr.decode())',
    'print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)',
  ].join('\n');
  const result = spawnSync('/usr/bin/python3', ['-c', wrapper, ...command], { env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command[0]} failed: ${result.stderr || result.stdout}`);
  const [ms, maxrssKiB] = result.stdout.trim().split(/\s+/).map(Number);
  return { ms, peakMiB: maxrssKiB / 1024, stdout: result.stdout };
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Three significant digits: ratios span 0.003 to 30. */
export function significant(value: number): number {
  return Number(value.toPrecision(3));
}
