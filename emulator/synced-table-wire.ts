// The wire form of a SyncedDatabaseTable (docs/databricks-apis.md §1.2-1.3; the JS SDK's
// `database/model.d.ts`; the Python SDK's newer fields): what a create request may hold, and the
// record rendered back with its status. Newer spec fields the emulator does not honour
// (accelerated sync, extra columns and indexes, type overrides, Autoscaling projects) are refused
// by name.
import { errors } from './api-errors';
import { onlyFields, optionalBoolean, optionalString, requiredString } from './http';
import type { SchedulingPolicy, SyncedTableRecord } from './store';
import { SCHEDULING_POLICIES } from './synced-tables';
import type { SyncedTableRequest } from './synced-tables';

type Body = Record<string, unknown>;

/** Output fields a client may send back (a fetched object); they are ignored. */
const OUTPUT_FIELDS = ['data_synchronization_status', 'unity_catalog_provisioning_state', 'effective_database_instance_name', 'effective_logical_database_name', 'table_serving_url', 'effective_database_project_id', 'effective_database_branch_id'];

const NOT_EMULATED: Record<string, string> = {
  database_project_id: 'Synced tables in Lakebase Autoscaling projects',
  database_branch_id: 'Synced tables in Lakebase Autoscaling branches',
  accelerated_sync: 'Accelerated initial syncs',
  extra_columns: 'Extra columns of synced tables',
  extra_index_definitions: 'Extra index definitions of synced tables',
  type_overrides: 'Type overrides of synced tables',
};

function object(value: unknown, field: string): Body {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw errors.invalidParameter(field, `${field} must be an object.`);
  return value as Body;
}

function strings(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) throw errors.invalidParameter(field, `${field} must be a list of column names.`);
  return value as string[];
}

export function parseSyncedTable(body: Body): SyncedTableRequest {
  for (const field of Object.keys(body)) {
    if (NOT_EMULATED[field]) throw errors.notImplemented(NOT_EMULATED[field], { field });
  }
  onlyFields(body, ['name', 'database_instance_name', 'logical_database_name', 'spec', ...OUTPUT_FIELDS], 'SyncedDatabaseTable');
  const name = requiredString(body, 'name');
  if (body.spec === undefined) throw errors.missingParameter('spec');
  const spec = object(body.spec, 'spec');
  for (const field of Object.keys(spec)) {
    if (NOT_EMULATED[field]) throw errors.notImplemented(NOT_EMULATED[field], { field: `spec.${field}` });
  }
  onlyFields(spec, ['source_table_full_name', 'primary_key_columns', 'timeseries_key', 'scheduling_policy', 'create_database_objects_if_missing', 'existing_pipeline_id', 'new_pipeline_spec'], 'SyncedTableSpec');
  const source = optionalString(spec, 'source_table_full_name');
  if (source === undefined || source === '') throw errors.missingParameter('spec.source_table_full_name');
  const policy = optionalString(spec, 'scheduling_policy') ?? 'SNAPSHOT';
  if (!(SCHEDULING_POLICIES as readonly string[]).includes(policy)) {
    throw errors.invalidParameter('spec.scheduling_policy', `Invalid scheduling_policy '${policy}'. Valid values are ${SCHEDULING_POLICIES.join(', ')}.`);
  }
  let newPipelineSpec: SyncedTableRequest['newPipelineSpec'];
  if (spec.new_pipeline_spec !== undefined && spec.new_pipeline_spec !== null) {
    const pipeline = object(spec.new_pipeline_spec, 'spec.new_pipeline_spec');
    onlyFields(pipeline, ['storage_catalog', 'storage_schema', 'budget_policy_id', 'pipeline_channel'], 'NewPipelineSpec');
    const channel = optionalString(pipeline, 'pipeline_channel');
    if (channel !== undefined && channel !== 'CURRENT' && channel !== 'PREVIEW') {
      throw errors.invalidParameter('spec.new_pipeline_spec.pipeline_channel', `Invalid pipeline_channel '${channel}'. Valid values are CURRENT, PREVIEW.`);
    }
    newPipelineSpec = {};
    for (const field of ['storage_catalog', 'storage_schema', 'budget_policy_id', 'pipeline_channel'] as const) {
      const value = optionalString(pipeline, field);
      if (value !== undefined) newPipelineSpec[field] = value;
    }
  }
  const timeseriesKey = optionalString(spec, 'timeseries_key');
  const existingPipelineId = optionalString(spec, 'existing_pipeline_id');
  const instance = optionalString(body, 'database_instance_name');
  const database = optionalString(body, 'logical_database_name');
  return {
    name,
    ...(instance ? { databaseInstanceName: instance } : {}),
    ...(database ? { logicalDatabaseName: database } : {}),
    sourceTable: source,
    primaryKey: strings(spec.primary_key_columns, 'spec.primary_key_columns'),
    ...(timeseriesKey ? { timeseriesKey } : {}),
    policy: policy as SchedulingPolicy,
    createDatabaseObjectsIfMissing: optionalBoolean(spec, 'create_database_objects_if_missing') ?? false,
    ...(existingPipelineId ? { existingPipelineId } : {}),
    ...(newPipelineSpec ? { newPipelineSpec } : {}),
  };
}

export function renderSyncedTable(record: SyncedTableRecord, status: Record<string, unknown>): Record<string, unknown> {
  return {
    name: record.name,
    ...(record.registeredCatalog ? {} : { database_instance_name: record.instanceName, logical_database_name: record.databaseName }),
    effective_database_instance_name: record.instanceName,
    effective_logical_database_name: record.databaseName,
    spec: {
      source_table_full_name: record.sourceTable,
      primary_key_columns: record.primaryKey,
      ...(record.timeseriesKey ? { timeseries_key: record.timeseriesKey } : {}),
      scheduling_policy: record.policy,
      create_database_objects_if_missing: record.createDatabaseObjectsIfMissing,
      ...(record.existingPipelineId ? { existing_pipeline_id: record.existingPipelineId } : {}),
      ...(record.newPipelineSpec ? { new_pipeline_spec: record.newPipelineSpec } : {}),
    },
    // The UC entity exists as soon as the request is accepted; the pipeline's progress is in the status.
    unity_catalog_provisioning_state: 'ACTIVE',
    data_synchronization_status: status,
  };
}
