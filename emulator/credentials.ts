// `POST /api/2.0/database/credentials`: a short-lived token that is the caller's Postgres password
// on the instances it is scoped to ("the union of instance_names and instances containing the
// specified UC tables", model.d.ts). Minting one never revokes another.
import { errors } from './api-errors';
import type { Identity } from './identities';
import type { InstanceRegistry } from './instances';
import type { TokenService } from './tokens';
import type { UnityCatalog } from './unity-catalog';

export interface CredentialRequest {
  instanceNames: string[];
  /** UC table names from `claims[].resources[].table_name`. */
  tableNames: string[];
  /** `claims[].permission_set: READ_ONLY`: sessions opened with it are read-only. */
  readOnly?: boolean;
}

export interface DatabaseCredential {
  /** Secret. */
  token: string;
  expirationTime: Date;
}

export class CredentialIssuer {
  constructor(
    private readonly instances: InstanceRegistry,
    private readonly catalog: UnityCatalog,
    private readonly tokens: TokenService,
    private readonly ttlSeconds: number,
  ) {}

  async generate(request: CredentialRequest, caller: Identity): Promise<DatabaseCredential> {
    const names = new Set(request.instanceNames);
    for (const table of request.tableNames) names.add(this.catalog.getTable(table).instanceName);
    if (names.size === 0) {
      throw errors.invalidParameter('instance_names', 'Name at least one instance in instance_names (or a table in claims).');
    }
    const uids = [...names].map((name) => {
      const record = this.instances.get(name);
      // A stopped instance cannot be logged into; the real service refuses to mint for it.
      if (record.state === 'STOPPED' || record.state === 'DELETING' || record.state === 'FAILED') {
        throw errors.instanceNotAvailable(name, record.state, 'generating a credential');
      }
      return record.uid;
    });
    const minted = await this.tokens.mintDatabaseCredential(caller.postgresName, uids, this.ttlSeconds, { readOnly: request.readOnly === true });
    return { token: minted.token, expirationTime: minted.expiresAt };
  }
}
