// The errors of the Autoscaling API (`/api/2.0/postgres`), as the real service words them where
// that is known (the Databricks CLI's fake workspace `libs/testserver/postgres.go` copies several
// "verified against a real workspace"), in the catalogue style of `api-errors.ts`. The Autoscaling
// API says NOT_FOUND and ALREADY_EXISTS where the Provisioned one says RESOURCE_DOES_NOT_EXIST
// and RESOURCE_ALREADY_EXISTS; clients that map codes must not mix the two up.
import { randomUUID } from 'node:crypto';
import { ApiError } from './api-errors';
import { CHILD_ID, COMPUTE_UNITS, RESOURCE_ID } from './autoscaling-limits';

export type ResourceKind = 'project' | 'branch' | 'endpoint' | 'role' | 'database' | 'operation';

export const postgresErrors = {
  /** 404 "<type> id not found [TraceId: …]" (fake server: "to match real API behavior"). */
  notFound: (kind: ResourceKind, name: string) =>
    new ApiError('NOT_FOUND', `${kind} id not found [TraceId: ${randomUUID()}]`, { resource_type: kind, resource_name: name }),
  projectExists: (name: string) => new ApiError('ALREADY_EXISTS', 'project with such id already exists in the workspace', { resource_name: name }),
  branchExists: (name: string) => new ApiError('ALREADY_EXISTS', 'branch with such id already exists', { resource_name: name }),
  endpointExists: (name: string) => new ApiError('ALREADY_EXISTS', 'endpoint with such id already exists', { resource_name: name }),
  /** Roles and databases: 400 BAD_REQUEST, not 409 (fake server: "verified on dogfood"). */
  roleExists: (name: string) => new ApiError('BAD_REQUEST', 'role with that name already exists', { resource_name: name }),
  databaseExists: (name: string) => new ApiError('BAD_REQUEST', 'database with that name already exists', { resource_name: name }),

  /** `Field 'project_id' is required, expected non-default value (not "")!` */
  idRequired: (field: string) =>
    new ApiError('INVALID_PARAMETER_VALUE', `Field '${field}' is required, expected non-default value (not "")!`, { field }),
  invalidId: (field: string, value: string) =>
    new ApiError('INVALID_PARAMETER_VALUE', `Field '${field}' ('${value}') must be ${RESOURCE_ID.rule}.`, { field }),
  invalidChildId: (field: string) => new ApiError('INVALID_PARAMETER_VALUE', `Field '${field}' must be ${CHILD_ID.rule}.`, { field }),
  unknownMaskPath: (path: string) => new ApiError('INVALID_PARAMETER_VALUE', `Unknown field path in update_mask: '${path}'`, { field: 'update_mask' }),
  maskedButMissing: (path: string) =>
    new ApiError('INVALID_PARAMETER_VALUE', `Field '${path}' is in update_mask but not provided in request`, { field: 'update_mask' }),
  invalidDuration: (field: string, value: unknown) =>
    new ApiError('INVALID_PARAMETER_VALUE', `Field '${field}' must be a duration such as "3600s", got ${JSON.stringify(value)}.`, { field }),
  durationOutOfRange: (field: string, seconds: number, min: number, max: number) =>
    new ApiError('INVALID_PARAMETER_VALUE', `Field '${field}' is ${seconds}s; it must be between ${min}s and ${max}s.`, { field }),
  invalidTimestamp: (field: string, value: unknown) =>
    new ApiError('INVALID_PARAMETER_VALUE', `Field '${field}' must be an RFC 3339 timestamp such as "2026-01-01T00:00:00Z", got ${JSON.stringify(value)}.`, { field }),
  computeUnits: (message: string) =>
    new ApiError(
      'INVALID_PARAMETER_VALUE',
      `${message} Compute units range from ${COMPUTE_UNITS.min} to ${COMPUTE_UNITS.max}, and max - min may be at most ${COMPUTE_UNITS.maxSpread}.`,
      { field: 'spec.autoscaling_limit_max_cu' },
    ),
  oneReadWriteEndpoint: (branch: string, existing: string) =>
    new ApiError('INVALID_PARAMETER_VALUE', `A branch can only have one READ_WRITE endpoint; ${branch} already has ${existing}.`, { resource_name: branch }),
  endpointTypeRequired: () =>
    new ApiError('INVALID_PARAMETER_VALUE', "Field 'endpoint.spec.endpoint_type' is required: ENDPOINT_TYPE_READ_WRITE or ENDPOINT_TYPE_READ_ONLY.", { field: 'spec.endpoint_type' }),
  /** Deleting what the project or branch made by itself (fake server: MANAGED_BY_PARENT payload). */
  managedByParent: (message: string) => new ApiError('BAD_REQUEST', message, { declarative_context: 'MANAGED_BY_PARENT' }, { reason: 'RESOURCE_CONFLICT' }),
  protectedBranch: (name: string) => new ApiError('BAD_REQUEST', 'cannot delete protected branch', { resource_name: name }),
  defaultBranch: (name: string) =>
    new ApiError('BAD_REQUEST', `Cannot delete the project's default branch '${name}'; make another branch the default first.`, { resource_name: name }),
  branchHasChildren: (name: string, children: readonly string[]) =>
    new ApiError('BAD_REQUEST', `Cannot delete branch '${name}': the branches ${children.join(', ')} were made from it; delete them first.`, { resource_name: name }),
  deleted: (kind: ResourceKind, name: string) =>
    new ApiError('INVALID_STATE', `The ${kind} ${name} is deleted; undelete it first (POST /api/2.0/postgres/${name}/undelete).`, { resource_name: name }),
  notDeleted: (kind: ResourceKind, name: string) =>
    new ApiError('INVALID_STATE', `The ${kind} ${name} is not deleted, so there is nothing to undelete.`, { resource_name: name }),
  busy: (name: string, state: string) =>
    new ApiError('INVALID_STATE', `${name} is ${state}; wait for its operation to finish and try again.`, { resource_name: name, state }),
  /** `why` says where the history starts (the earliest restorable point). */
  sourceTooOld: (field: string, why: string) =>
    new ApiError('INVALID_PARAMETER_VALUE', `Field '${field}' is outside the source branch's history: ${why} Choose a later point within the project's history retention.`, { field }),
  sourceInFuture: (field: string) => new ApiError('INVALID_PARAMETER_VALUE', `Field '${field}' is in the future.`, { field }),
} as const;
