// `/api/2.0/sql/warehouses`: list, get, start and stop, with the fields the SDKs read
// (`EndpointInfo` of the SQL API: id, name, state, cluster_size, odbc_params, jdbc_url, ...).
// `odbc_params` is how clients find the Thrift endpoint: hostname, port, path, protocol.
import { caller } from '../http';
import type { Reply, Route } from '../http';
import type { WarehouseRecord, WarehouseRegistry } from '../lakehouse/warehouses';

export interface WarehouseServices {
  warehouses: WarehouseRegistry;
  /** Where the Thrift endpoint listens. */
  endpoint: () => { hostname: string; port: number };
}

const BASE = '/api/2.0/sql/warehouses';

function ok(body: unknown): Reply {
  return { status: 200, body };
}

export function renderWarehouse(record: WarehouseRecord, endpoint: { hostname: string; port: number }) {
  const path = `/sql/1.0/warehouses/${record.id}`;
  return {
    id: record.id,
    name: record.name,
    state: record.state,
    cluster_size: record.clusterSize,
    min_num_clusters: 1,
    max_num_clusters: 1,
    num_clusters: record.state === 'RUNNING' ? 1 : 0,
    num_active_sessions: 0,
    auto_stop_mins: record.autoStopMins,
    creator_name: record.creatorName,
    enable_photon: true,
    enable_serverless_compute: true,
    warehouse_type: 'PRO',
    spot_instance_policy: 'COST_OPTIMIZED',
    channel: { name: 'CHANNEL_NAME_CURRENT' },
    health: { status: record.state === 'RUNNING' ? 'HEALTHY' : 'STATUS_UNSPECIFIED' },
    odbc_params: { hostname: endpoint.hostname, port: endpoint.port, path, protocol: 'https' },
    jdbc_url: `jdbc:databricks://${endpoint.hostname}:${endpoint.port}/default;transportMode=http;ssl=1;AuthMech=3;httpPath=${path};`,
  };
}

export function warehouseRoutes({ warehouses, endpoint }: WarehouseServices): Route[] {
  return [
    {
      method: 'GET', path: BASE, authenticated: true,
      handle: () => ok({ warehouses: warehouses.list().map((record) => renderWarehouse(record, endpoint())) }),
    },
    {
      method: 'GET', path: `${BASE}/{id}`, authenticated: true,
      handle: (request) => ok(renderWarehouse(warehouses.get(request.params.id), endpoint())),
    },
    {
      method: 'POST', path: `${BASE}/{id}/start`, authenticated: true,
      async handle(request) {
        caller(request);
        await warehouses.start(request.params.id);
        return ok({});
      },
    },
    {
      method: 'POST', path: `${BASE}/{id}/stop`, authenticated: true,
      async handle(request) {
        caller(request);
        await warehouses.stop(request.params.id);
        return ok({});
      },
    },
  ];
}
