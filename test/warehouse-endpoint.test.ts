// Which Thrift service answers a warehouse's endpoint (emulator/lakehouse/warehouse-endpoint.ts):
// a missing warehouse is a 404, a stopped one a 503 (the driver retries it), a running one gets
// its own service; and no other failure is ever reported as a missing warehouse.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ThriftService } from '../emulator/lakehouse/thrift-service';
import { EndpointError, warehouseServices } from '../emulator/lakehouse/warehouse-endpoint';
import { WarehouseRegistry } from '../emulator/lakehouse/warehouses';
import { openStateStore } from '../emulator/store';

let dir: string;
let registry: WarehouseRegistry;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lakebase-warehouse-endpoint-'));
  registry = new WarehouseRegistry(await openStateStore(join(dir, 'state.json')), 0);
  await registry.restore('someone@example.com');
});

afterAll(async () => {
  registry?.close();
  await rm(dir, { recursive: true, force: true });
});

const newService = () => new ThriftService({ lakehouse: () => Promise.reject(new Error('no engine in this test')), log: () => undefined });

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'answered',
    (error: unknown) => error,
  );
}

describe("a warehouse endpoint's service", () => {
  test('a running warehouse has one service; a missing one is a 404; a stopped one a 503', async () => {
    const services = warehouseServices(registry, newService);
    const [warehouse] = registry.list();
    const first = await services.serviceFor(warehouse.id);
    expect(await services.serviceFor(warehouse.id)).toBe(first);
    expect(await failure(services.serviceFor('0123456789abcdef'))).toMatchObject({ status: 404, message: 'Warehouse 0123456789abcdef does not exist.' });
    await registry.stop(warehouse.id);
    await expect.poll(() => registry.get(warehouse.id).state).toBe('STOPPED');
    expect(await failure(services.serviceFor(warehouse.id))).toMatchObject({ status: 503, message: expect.stringMatching(/is STOPPED; start it first/) });
    await registry.start(warehouse.id);
    await expect.poll(() => registry.get(warehouse.id).state).toBe('RUNNING');
  });

  test('a failure to look the warehouse up is not reported as a missing warehouse', async () => {
    // The lookup itself failing (a stand-in registry: the real one keeps its records in memory).
    const broken = { find: (): never => { throw new Error('the state file could not be read'); } };
    const services = warehouseServices(broken, newService);
    const error = await failure(services.serviceFor('0123456789abcdef'));
    expect(error).not.toBeInstanceOf(EndpointError);
    expect(String(error)).toContain('the state file could not be read');
  });
});
