// `%lakebase catalog ...` and `%lakebase table ...`: Unity Catalog for Lakebase Provisioned. A
// database of an instance registered as a catalog (CLI: `create-database-catalog NAME INSTANCE
// DATABASE`), and an existing Postgres table registered in a standard catalog
// (`create-database-table`). Neither deletion touches Postgres data, so neither asks to confirm.
import { LakebaseError } from '../../lakebase/errors';
import { createCatalog, createTable, DatabaseCatalog, DatabaseTable, deleteCatalog, deleteTable, getCatalog, getTable } from '../../lakebase/unity-catalog';
import type { VerbDeclaration, VerbFamily } from '../declarations';
import { displayAs, FieldsOutput, TextOutput } from '../outputs';
import type { MagicServices } from '../services';
import { lineWith, PROFILE_OPTION, textOption, workspaceOf } from './workspace-verbs';

/**
 * Catalog names for completion. The API cannot list database catalogs (the real service leaves
 * that route unimplemented), so these are the ones this kernel registered or looked at.
 */
const seenCatalogs = new Set<string>();

const CATALOG_TYPES = `
/** A Unity Catalog catalog bound to a database of an instance. */
interface LakebaseCatalog { name: string; database_instance_name?: string; database_name?: string; uid?: string }
/** An existing Postgres table registered in Unity Catalog. */
interface LakebaseTable { name: string; database_instance_name?: string; logical_database_name?: string; table_serving_url?: string }
`;

function shownCatalog(catalog: DatabaseCatalog): DatabaseCatalog {
  seenCatalogs.add(catalog.name);
  return displayAs(catalog, () =>
    new FieldsOutput(`catalog ${catalog.name}`, [
      ['instance', catalog.database_instance_name],
      ['database', catalog.database_name],
      ['uid', catalog.uid],
    ]),
  );
}

function shownTable(table: DatabaseTable): DatabaseTable {
  return displayAs(table, () =>
    new FieldsOutput(`table ${table.name}`, [
      ['instance', table.database_instance_name],
      ['database', table.logical_database_name],
      ['serving url', table.table_serving_url],
    ]),
  );
}

const CATALOG = { name: 'NAME', summary: 'the catalog (letters, digits and underscores)', completes: 'catalogs' } as const;
const TABLE = { name: 'NAME', summary: 'the table\'s full name catalog.schema.table (schema and table are the Postgres ones)' } as const;

const catalogCreate: VerbDeclaration<MagicServices> = {
  name: 'catalog create',
  summary: 'Register a database of an instance in Unity Catalog as a (read-only) catalog',
  positionals: [
    { name: 'NAME', summary: 'the new catalog (letters, digits and underscores)' },
    { name: 'INSTANCE', summary: 'the instance', completes: 'instances' },
    { name: 'DATABASE', summary: 'the Postgres database, e.g. databricks_postgres' },
  ],
  options: [{ name: 'create-database', kind: 'flag', summary: 'Create the database first when it does not exist' }, PROFILE_OPTION],
  examples: ['%lakebase catalog create shop orders databricks_postgres', '%lakebase catalog create analytics orders analytics --create-database'],
  resultType: 'LakebaseCatalog',
  async run(context) {
    const [name, instance, database] = context.invocation.positionals;
    const workspace = await workspaceOf(context);
    const createDatabase = context.invocation.options['create-database'] === true;
    try {
      return shownCatalog(await createCatalog(workspace, { name, instance, database, createDatabase }));
    } catch (error) {
      // The service says what to set in API terms (create_database_if_not_exists); say it in ours.
      if (!createDatabase && error instanceof LakebaseError && error.code === 'INVALID_REQUEST' && error.hint === undefined && error.message.includes(database) && /does not exist/i.test(error.message)) {
        throw new LakebaseError(error.code, error.message, {
          hint: `To create the database with the catalog, run: ${lineWith(context.invocation, '--create-database')}`,
          cause: error.cause,
        });
      }
      throw error;
    }
  },
};

const catalogGet: VerbDeclaration<MagicServices> = {
  name: 'catalog get',
  summary: 'Show a database catalog: its instance and database',
  positionals: [CATALOG],
  options: [PROFILE_OPTION],
  examples: ['%lakebase catalog get shop'],
  resultType: 'LakebaseCatalog',
  async run(context) {
    return shownCatalog(await getCatalog(await workspaceOf(context), context.invocation.positionals[0]));
  },
};

const catalogDelete: VerbDeclaration<MagicServices> = {
  name: 'catalog delete',
  summary: 'Remove a database catalog from Unity Catalog (the Postgres database stays)',
  positionals: [CATALOG],
  options: [PROFILE_OPTION],
  examples: ['%lakebase catalog delete shop'],
  resultType: 'LakebaseMessage',
  async run(context) {
    const [name] = context.invocation.positionals;
    await deleteCatalog(await workspaceOf(context), name);
    seenCatalogs.delete(name);
    return new TextOutput(`Removed the catalog ${name} from Unity Catalog; its Postgres database is untouched.`);
  },
};

const tableCreate: VerbDeclaration<MagicServices> = {
  name: 'table create',
  summary: 'Register an existing Postgres table in Unity Catalog',
  positionals: [TABLE],
  options: [
    { name: 'instance', kind: 'text', valueName: 'INSTANCE', completes: 'instances', summary: 'The table\'s instance (needed in a standard catalog; a database catalog has its own)' },
    { name: 'database', kind: 'text', valueName: 'DATABASE', summary: 'The table\'s Postgres database (needed in a standard catalog)' },
    PROFILE_OPTION,
  ],
  details: ['The table must exist in Postgres: registering does not create it.'],
  examples: ['%lakebase table create main.public.orders --instance orders --database databricks_postgres', '%lakebase table create shop.public.orders'],
  resultType: 'LakebaseTable',
  async run(context) {
    const { invocation } = context;
    const instance = textOption(invocation, 'instance');
    const database = textOption(invocation, 'database');
    const table = await createTable(await workspaceOf(context), {
      name: invocation.positionals[0],
      ...(instance ? { instance } : {}),
      ...(database ? { database } : {}),
    });
    return shownTable(table);
  },
};

const tableGet: VerbDeclaration<MagicServices> = {
  name: 'table get',
  summary: 'Show a registered table: its instance and database',
  positionals: [TABLE],
  options: [PROFILE_OPTION],
  examples: ['%lakebase table get main.public.orders'],
  resultType: 'LakebaseTable',
  async run(context) {
    return shownTable(await getTable(await workspaceOf(context), context.invocation.positionals[0]));
  },
};

const tableDelete: VerbDeclaration<MagicServices> = {
  name: 'table delete',
  summary: 'Remove a table\'s registration from Unity Catalog (the Postgres table stays)',
  positionals: [TABLE],
  options: [PROFILE_OPTION],
  examples: ['%lakebase table delete main.public.orders'],
  resultType: 'LakebaseMessage',
  async run(context) {
    const [name] = context.invocation.positionals;
    await deleteTable(await workspaceOf(context), name);
    return new TextOutput(`Removed the table ${name} from Unity Catalog; the Postgres table is untouched.`);
  },
};

export const catalogFamily: VerbFamily<MagicServices> = {
  name: 'catalog',
  summary: 'Unity Catalog: database catalogs and registered tables',
  verbs: [catalogCreate, catalogGet, catalogDelete, tableCreate, tableGet, tableDelete],
  typeDeclarations: CATALOG_TYPES,
  completionSources: {
    catalogs: () => [...seenCatalogs].sort(),
  },
};
