// The diagnostic log: one line per event, levels, context, and no secrets.
import { describe, expect, test } from 'vitest';
import { createLogger, thresholdFromEnv } from '../kernel/log';

function capture(threshold: 'debug' | 'info' | 'warn' | 'error' | 'off') {
  const lines: string[] = [];
  const logger = createLogger({ threshold, write: (line) => lines.push(line), now: () => new Date('2030-01-02T03:04:05.000Z') });
  return { logger, lines };
}

describe('logger', () => {
  test('writes one line per event at or above the threshold', () => {
    const { logger, lines } = capture('info');
    logger.debug('hidden');
    logger.info('kernel started', { port: 5555, signed: true });
    logger.error('failed', { error: Object.assign(new Error('boom'), { code: 'E_BOOM' }) });
    expect(lines).toEqual([
      '2030-01-02T03:04:05.000Z INFO  kernel started port=5555 signed=true\n',
      '2030-01-02T03:04:05.000Z ERROR failed error="Error[E_BOOM]: boom"\n',
    ]);
    expect(logger.enabled('debug')).toBe(false);
  });

  test('keeps every event on one line, whatever the values hold', () => {
    const { logger, lines } = capture('debug');
    logger.warn('two\nlines', { text: 'a\nb c', long: 'x'.repeat(500) });
    expect(lines).toHaveLength(1);
    expect(lines[0].trimEnd()).not.toContain('\n');
    expect(lines[0]).toContain('text="a\\nb c"');
    expect(lines[0].length).toBeLessThan(300);
  });

  test('redacts fields named like secrets, also inside objects', () => {
    const { logger, lines } = capture('debug');
    logger.info('connection', { key: 'k-123', token: 't-456', password: 'p-789', info: { ip: '127.0.0.1', key: 'k-123' } });
    expect(lines[0]).not.toMatch(/k-123|t-456|p-789/);
    expect(lines[0]).toContain('key=[redacted]');
    expect(lines[0]).toContain('127.0.0.1');
  });

  test('child loggers add their context', () => {
    const { logger, lines } = capture('debug');
    logger.child({ component: 'wire' }).warn('dropped', { channel: 'shell' });
    expect(lines[0]).toContain('dropped component=wire channel=shell');
  });

  test('off writes nothing', () => {
    const { logger, lines } = capture('off');
    logger.error('nothing');
    expect(lines).toEqual([]);
  });

  test('LAKEBASE_KERNEL_LOG picks the threshold; unknown values are reported', () => {
    expect(thresholdFromEnv({ LAKEBASE_KERNEL_LOG: 'DEBUG' })).toBe('debug');
    expect(thresholdFromEnv({})).toBe('warn');
    expect(thresholdFromEnv({ LAKEBASE_KERNEL_LOG: 'loud' })).toBeUndefined();
  });
});
