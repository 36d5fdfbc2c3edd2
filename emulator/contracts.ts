// The emulator's public face, for the CLI (`lakebase-kernel emulator ...`), for the kernel's
// embedded default and for tests. Types only; `emulator/index.ts` implements them.

export interface EmulatorOptions {
  /** Where state, instance data, the CA and the identities live. Survives stop/start. */
  dataDir: string;
  /** REST API port on 127.0.0.1; 0 picks a free port. Default: `DEFAULT_EMULATOR_PORT`. */
  port?: number;
  /** Lifetime of database credentials minted by `POST /credentials`, in seconds. Default 3600. */
  tokenTtlSeconds?: number;
  /**
   * How long STARTING, UPDATING, STOPPING-to-STOPPED and DELETING last, in milliseconds:
   * near zero in tests, a few seconds in demos. Default: realistic (a few seconds).
   */
  transitionDelayMs?: number;
  /**
   * The lowest `suspend_timeout_duration` an Autoscaling endpoint accepts, in seconds. Default 60,
   * the real service's floor; lower values let tests and demos see scale to zero in seconds.
   */
  minSuspendTimeoutSeconds?: number;
}

/** A workspace user with a personal access token (the default identity of the emulator). */
export interface EmulatorUser {
  userName: string;
  /** A PAT for `DATABRICKS_TOKEN`. Secret: never print it except in `emulator env`. */
  token: string;
}

/** A service principal for OAuth machine-to-machine auth. */
export interface EmulatorServicePrincipal {
  applicationId: string;
  displayName: string;
  /** Secret: never print it except in `emulator env`. */
  clientSecret: string;
}

/** How to reach a running emulator, whether in this process or in a background one. */
export interface EmulatorEndpoint {
  /** Workspace URL for `DATABRICKS_HOST`, e.g. `http://127.0.0.1:8471`. */
  host: string;
  dataDir: string;
  /** PEM file of the CA that signs every instance's server certificate. */
  caCertPath: string;
  user: EmulatorUser;
  /** Another workspace user, to show that one identity's token does not open another's role. */
  secondUser?: EmulatorUser;
  /** A workspace admin (member of `admins`), who may manage every instance. */
  adminUser?: EmulatorUser;
  servicePrincipal: EmulatorServicePrincipal;
}

export interface RunningEmulator extends EmulatorEndpoint {
  /**
   * The local lakehouse (Unity Catalog, Delta tables, SQL warehouses), started on first use. In
   * this process only: other parts of the emulator (reverse ETL) read tables and changes through it.
   */
  readonly lakehouse: import('./lakehouse/host').LakehouseHost;
  /** Stops the API and every instance server; state stays on disk for the next start. */
  stop(): Promise<void>;
}
