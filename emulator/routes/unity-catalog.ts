// `/api/2.1/unity-catalog/{catalogs,schemas,tables}`: the lakehouse's catalogs, schemas and Delta
// tables, with the paths, fields and error codes the SDKs use (`@databricks/sdk-experimental`
// `apis/catalog`: CatalogInfo, SchemaInfo, TableInfo). The same objects as SQL's SHOW, CREATE and
// DROP see (emulator/lakehouse/engine.ts).
import { ApiError } from '../api-errors';
import type { ErrorCode } from '../api-errors';
import { caller, optionalBoolean, optionalString, queryBoolean, requiredString } from '../http';
import type { Reply, Request, Route } from '../http';
import type { ColumnInfo } from '../lakehouse/catalog';
import type { CatalogRecord, Lakehouse, SchemaRecord, TableRecord } from '../lakehouse/engine';
import { LakehouseError } from '../lakehouse/errors';
import type { LakehouseHost } from '../lakehouse/host';
import { tokenize } from '../lakehouse/lexer';
import { parseTypeText, typeName, typeText } from '../lakehouse/types';
import { paginate, parsePageSize } from '../pagination';

const BASE = '/api/2.1/unity-catalog';
/** The emulator's one metastore. */
const METASTORE_ID = '00000000-0000-4000-8000-00000000e1a1';

function ok(body: unknown): Reply {
  return { status: 200, body };
}

/** Lakehouse errors in UC's REST terms. */
function apiError(error: unknown): unknown {
  if (!(error instanceof LakehouseError)) return error;
  const codes: Partial<Record<LakehouseError['errorClass'], ErrorCode>> = {
    CATALOG_NOT_FOUND: 'CATALOG_DOES_NOT_EXIST',
    SCHEMA_NOT_FOUND: 'SCHEMA_DOES_NOT_EXIST',
    TABLE_OR_VIEW_NOT_FOUND: 'TABLE_DOES_NOT_EXIST',
    CATALOG_ALREADY_EXISTS: 'CATALOG_ALREADY_EXISTS',
    SCHEMA_ALREADY_EXISTS: 'SCHEMA_ALREADY_EXISTS',
    TABLE_OR_VIEW_ALREADY_EXISTS: 'TABLE_ALREADY_EXISTS',
    SCHEMA_NOT_EMPTY: 'SCHEMA_NOT_EMPTY',
  };
  return new ApiError(codes[error.errorClass] ?? 'INVALID_PARAMETER_VALUE', error.detail, {}, { cause: error });
}

function renderCatalog(catalog: CatalogRecord) {
  return {
    name: catalog.name,
    full_name: catalog.name,
    comment: catalog.comment ?? undefined,
    owner: catalog.owner,
    created_at: catalog.createdAt.getTime(),
    created_by: catalog.owner,
    updated_at: catalog.createdAt.getTime(),
    catalog_type: 'MANAGED_CATALOG',
    isolation_mode: 'OPEN',
    securable_type: 'CATALOG',
    metastore_id: METASTORE_ID,
    id: catalog.uid,
  };
}

function renderSchema(schema: SchemaRecord) {
  return {
    name: schema.name,
    catalog_name: schema.catalog,
    full_name: `${schema.catalog}.${schema.name}`,
    comment: schema.comment ?? undefined,
    owner: schema.owner,
    created_at: schema.createdAt.getTime(),
    created_by: schema.owner,
    updated_at: schema.createdAt.getTime(),
    catalog_type: 'MANAGED_CATALOG',
    metastore_id: METASTORE_ID,
    schema_id: schema.uid,
  };
}

function renderTable(table: TableRecord) {
  return {
    name: table.name,
    catalog_name: table.catalog,
    schema_name: table.schema,
    full_name: `${table.catalog}.${table.schema}.${table.name}`,
    table_type: 'MANAGED',
    data_source_format: 'DELTA',
    columns: table.columns.map((column, position) => ({
      name: column.name,
      type_text: typeText(column.type),
      type_name: typeName(column.type) === 'TIMESTAMP_NTZ' ? 'TIMESTAMP_NTZ' : typeName(column.type),
      type_json: JSON.stringify({ name: column.name, type: typeText(column.type), nullable: column.nullable, metadata: {} }),
      ...(column.type.kind === 'decimal' ? { type_precision: column.type.precision, type_scale: column.type.scale } : {}),
      position,
      nullable: column.nullable,
      ...(column.comment ? { comment: column.comment } : {}),
    })),
    properties: table.properties,
    comment: table.comment ?? undefined,
    owner: table.owner,
    created_at: table.createdAt.getTime(),
    created_by: table.owner,
    updated_at: table.createdAt.getTime(),
    table_id: table.uid,
    metastore_id: METASTORE_ID,
    securable_kind: 'TABLE_DELTA',
  };
}

function splitFull(full: string, parts: number, what: string): string[] {
  const split = full.split('.');
  if (split.length !== parts || split.some((part) => part === '')) {
    throw new ApiError('INVALID_PARAMETER_VALUE', `Invalid ${what} name '${full}': use ${parts === 2 ? 'catalog.schema' : 'catalog.schema.table'}.`);
  }
  return split;
}

export function unityCatalogRoutes(host: LakehouseHost): Route[] {
  const route = (method: Route['method'], path: string, handle: (lakehouse: Lakehouse, request: Request) => Promise<Reply> | Reply): Route => ({
    method,
    path: `${BASE}${path}`,
    authenticated: true,
    async handle(request) {
      try {
        return await handle(await host.get(), request);
      } catch (error) {
        throw apiError(error);
      }
    },
  });
  const page = <T>(request: Request, items: T[], key: (item: T) => string) =>
    paginate(items, key, parsePageSize(request.url.searchParams.get('max_results')), request.url.searchParams.get('page_token'));
  const owner = (request: Request) => {
    const identity = caller(request);
    return identity.kind === 'USER' ? identity.userName : identity.applicationId;
  };

  return [
    route('GET', '/catalogs', (lakehouse, request) => {
      const listed = page(request, lakehouse.listCatalogs(), (catalog) => catalog.name);
      return ok({ catalogs: listed.items.map(renderCatalog), ...(listed.nextPageToken ? { next_page_token: listed.nextPageToken } : {}) });
    }),
    route('POST', '/catalogs', async (lakehouse, request) => {
      const created = await lakehouse.createCatalog(requiredString(request.body, 'name'), owner(request), { comment: optionalString(request.body, 'comment') ?? null });
      return ok(renderCatalog(created));
    }),
    route('GET', '/catalogs/{name}', (lakehouse, request) => ok(renderCatalog(lakehouse.getCatalog(request.params.name)))),
    route('DELETE', '/catalogs/{name}', async (lakehouse, request) => {
      await lakehouse.deleteCatalog(request.params.name, { force: queryBoolean(request.url, 'force') ?? false });
      return ok({});
    }),
    route('GET', '/schemas', (lakehouse, request) => {
      const catalog = request.url.searchParams.get('catalog_name');
      if (!catalog) throw new ApiError('INVALID_PARAMETER_VALUE', 'catalog_name is required.');
      const listed = page(request, lakehouse.listSchemas(catalog), (schema) => schema.name);
      return ok({ schemas: listed.items.map(renderSchema), ...(listed.nextPageToken ? { next_page_token: listed.nextPageToken } : {}) });
    }),
    route('POST', '/schemas', async (lakehouse, request) => {
      const created = await lakehouse.createSchema(requiredString(request.body, 'catalog_name'), requiredString(request.body, 'name'), owner(request), {
        comment: optionalString(request.body, 'comment') ?? null,
      });
      return ok(renderSchema(created));
    }),
    route('GET', '/schemas/{full_name}', (lakehouse, request) => {
      const [catalog, schema] = splitFull(request.params.full_name, 2, 'schema');
      return ok(renderSchema(lakehouse.getSchema(catalog, schema)));
    }),
    route('DELETE', '/schemas/{full_name}', async (lakehouse, request) => {
      const [catalog, schema] = splitFull(request.params.full_name, 2, 'schema');
      await lakehouse.deleteSchema(catalog, schema, { cascade: queryBoolean(request.url, 'force') ?? false });
      return ok({});
    }),
    route('GET', '/tables', (lakehouse, request) => {
      const catalog = request.url.searchParams.get('catalog_name');
      const schema = request.url.searchParams.get('schema_name');
      if (!catalog || !schema) throw new ApiError('INVALID_PARAMETER_VALUE', 'catalog_name and schema_name are required.');
      const listed = page(request, lakehouse.listTables(catalog, schema), (table) => table.name);
      return ok({ tables: listed.items.map(renderTable), ...(listed.nextPageToken ? { next_page_token: listed.nextPageToken } : {}) });
    }),
    route('POST', '/tables', async (lakehouse, request) => {
      const body = request.body;
      const tableType = optionalString(body, 'table_type') ?? 'MANAGED';
      const format = optionalString(body, 'data_source_format') ?? 'DELTA';
      if (tableType !== 'MANAGED' || format !== 'DELTA') {
        throw new ApiError('INVALID_PARAMETER_VALUE', `The local lakehouse creates MANAGED DELTA tables only, not ${tableType} ${format}.`);
      }
      const columns = Array.isArray(body.columns) ? (body.columns as Record<string, unknown>[]) : [];
      const parsed: ColumnInfo[] = columns.map((column) => ({
        name: requiredString(column, 'name').toLowerCase(),
        type: parseTypeText(requiredString(column, 'type_text'), tokenize),
        nullable: optionalBoolean(column, 'nullable') ?? true,
        comment: optionalString(column, 'comment') ?? null,
      }));
      const properties = (body.properties ?? {}) as Record<string, string>;
      const created = await lakehouse.createTable({
        catalog: requiredString(body, 'catalog_name'),
        schema: requiredString(body, 'schema_name'),
        name: requiredString(body, 'name'),
        columns: parsed,
        properties,
        comment: optionalString(body, 'comment') ?? null,
        owner: owner(request),
      });
      return ok(renderTable(created));
    }),
    route('GET', '/tables/{full_name}', (lakehouse, request) => {
      splitFull(request.params.full_name, 3, 'table');
      return ok(renderTable(lakehouse.table(request.params.full_name)));
    }),
    route('DELETE', '/tables/{full_name}', async (lakehouse, request) => {
      splitFull(request.params.full_name, 3, 'table');
      await lakehouse.deleteTable(request.params.full_name);
      return ok({});
    }),
  ];
}
