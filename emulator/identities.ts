// The workspace's identities: generated on first start, kept in the data directory (mode 0600), the
// same on every later start. A default user with a PAT (the identity `emulator env` hands out), a
// second user (to show that one identity's token does not open another's role, and that it cannot
// touch the first's instances without a grant), a workspace admin, and a service principal for
// OAuth machine-to-machine auth. Their Postgres identity is the user's `userName` (an email) or
// the service principal's application id, as on the real service.
//
// Groups are fixed, as data: every workspace has `admins` (who may do anything) and `users`
// (everyone); `data-team` (the two ordinary users) gives GROUP roles something to stand for.
import { createHash, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { DataFileError, readJsonFile, writeJsonFileAtomic } from './files';

export interface StoredUser {
  id: string;
  userName: string;
  displayName: string;
  /** PAT: `dapi` + 32 hex digits, the shape of real personal access tokens. Secret. */
  token: string;
}

export interface StoredServicePrincipal {
  id: string;
  applicationId: string;
  displayName: string;
  /** OAuth secret: `dose` + 32 hex digits, the shape of real ones. Secret. */
  clientSecret: string;
}

interface StoredIdentities {
  version: 1;
  users: StoredUser[];
  servicePrincipals: StoredServicePrincipal[];
}

/** The workspace's groups and who is in them (`WORKSPACE_GROUPS`). */
export interface WorkspaceGroup {
  name: string;
  /** Users by index into the stored users, `'*'` for everyone (users and service principals). */
  members: '*' | readonly number[];
}

/**
 * Groups as data. `admins` and `users` exist in every Databricks workspace; `data-team` is the
 * emulator's own, for roles of identity type GROUP.
 */
export const WORKSPACE_GROUPS: readonly WorkspaceGroup[] = [
  { name: 'admins', members: [2] },
  { name: 'users', members: '*' },
  { name: 'data-team', members: [0, 1] },
];

/** Who made a request, without any secret. */
export type Identity =
  | { kind: 'USER'; id: string; userName: string; displayName: string; postgresName: string }
  | { kind: 'SERVICE_PRINCIPAL'; id: string; applicationId: string; displayName: string; postgresName: string };

export interface IdentityDirectory {
  readonly defaultUser: StoredUser;
  readonly secondUser: StoredUser;
  /** A member of `admins`: may manage every object of the workspace. */
  readonly adminUser: StoredUser;
  readonly servicePrincipal: StoredServicePrincipal;
  /** The groups `identity` belongs to, by name. */
  groupsOf(identity: Identity): string[];
  /** Whether `name` is a group of the workspace. */
  isGroup(name: string): boolean;
  /** Whether the identity is a workspace admin (a member of `admins`). */
  isAdmin(identity: Identity): boolean;
  /** The identity behind a personal access token. */
  byPersonalAccessToken(token: string): Identity | undefined;
  /** The service principal whose client id and secret these are. */
  byClientCredentials(clientId: string, clientSecret: string): Identity | undefined;
  /** By Postgres identity: a user's `userName` or a service principal's application id. */
  byPostgresName(name: string): Identity | undefined;
}

function scimId(): string {
  // SCIM ids of Databricks identities are 15-16 digit numbers.
  return String(randomInt(1, 9)) + Array.from({ length: 15 }, () => randomInt(0, 10)).join('');
}

function newUser(userName: string, displayName: string): StoredUser {
  return { id: scimId(), userName, displayName, token: 'dapi' + randomBytes(16).toString('hex') };
}

/** The admin user, added to identity files written before it existed. */
function newAdmin(): StoredUser {
  return newUser('admin-user@lakebase.local', 'Workspace Admin');
}

function generate(): StoredIdentities {
  return {
    version: 1,
    users: [
      newUser('default-user@lakebase.local', 'Default User'),
      newUser('second-user@lakebase.local', 'Second User'),
      newAdmin(),
    ],
    servicePrincipals: [
      {
        id: scimId(),
        applicationId: randomUUID(),
        displayName: 'emulator-service-principal',
        clientSecret: 'dose' + randomBytes(16).toString('hex'),
      },
    ],
  };
}

function parse(path: string, value: unknown): StoredIdentities {
  const stored = value as Partial<StoredIdentities> | undefined;
  if (!stored || stored.version !== 1 || !Array.isArray(stored.users) || !Array.isArray(stored.servicePrincipals)) {
    throw new DataFileError(path, 'unknown format');
  }
  if (stored.users.length < 2 || stored.servicePrincipals.length < 1) {
    throw new DataFileError(path, 'needs two users and one service principal');
  }
  return stored as StoredIdentities;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Compares secrets in constant time (over their digests, so lengths may differ). */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function userIdentity(user: StoredUser): Identity {
  return { kind: 'USER', id: user.id, userName: user.userName, displayName: user.displayName, postgresName: user.userName };
}

function servicePrincipalIdentity(sp: StoredServicePrincipal): Identity {
  return { kind: 'SERVICE_PRINCIPAL', id: sp.id, applicationId: sp.applicationId, displayName: sp.displayName, postgresName: sp.applicationId };
}

export async function loadOrCreateIdentities(path: string): Promise<IdentityDirectory> {
  const loaded = await readJsonFile(path);
  let stored: StoredIdentities;
  if (loaded === undefined) {
    stored = generate();
    await writeJsonFileAtomic(path, stored, 0o600);
  } else {
    stored = parse(path, loaded);
    if (stored.users.length < 3) {
      stored.users.push(newAdmin());
      await writeJsonFileAtomic(path, stored, 0o600);
    }
  }
  const groupsOf = (identity: Identity): string[] => {
    const index = identity.kind === 'USER' ? stored.users.findIndex((user) => user.userName === identity.userName) : -1;
    return WORKSPACE_GROUPS.filter((group) => group.members === '*' || (index >= 0 && group.members.includes(index))).map((group) => group.name);
  };
  // Looked up by digest, so a guess costs the same whether or not its prefix matches a PAT.
  const byTokenDigest = new Map(stored.users.map((user) => [sha256(user.token).toString('hex'), user]));
  return {
    defaultUser: stored.users[0],
    secondUser: stored.users[1],
    adminUser: stored.users[2],
    servicePrincipal: stored.servicePrincipals[0],
    groupsOf,
    isGroup: (name) => WORKSPACE_GROUPS.some((group) => group.name === name),
    isAdmin: (identity) => groupsOf(identity).includes('admins'),
    byPersonalAccessToken(token) {
      const user = byTokenDigest.get(sha256(token).toString('hex'));
      return user && userIdentity(user);
    },
    byClientCredentials(clientId, clientSecret) {
      const sp = stored.servicePrincipals.find((candidate) => candidate.applicationId === clientId);
      if (!sp || !sameSecret(sp.clientSecret, clientSecret)) return undefined;
      return servicePrincipalIdentity(sp);
    },
    byPostgresName(name) {
      const user = stored.users.find((candidate) => candidate.userName === name);
      if (user) return userIdentity(user);
      const sp = stored.servicePrincipals.find((candidate) => candidate.applicationId === name);
      return sp && servicePrincipalIdentity(sp);
    },
  };
}
