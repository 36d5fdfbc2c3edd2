// The emulator's instance servers: real PostgreSQL servers behind login gateways that take database
// tokens as passwords over TLS. The REST layer (emulator/) builds on these names only.
export { loadOrCreateAuthority } from './authority';
export type { CertificateAuthority } from './authority';
export { startLoginGateway } from './login-gateway';
export type { LoginGateway, LoginGatewayOptions, PasswordCheck } from './login-gateway';
export { allocateLoopbackAddress, allocateInstanceEndpoint, LAKEBASE_POSTGRES_PORT } from './addresses';
export type { InstanceEndpoint } from './addresses';
export { createInstanceServer, createPrivateServer, ADMIN_ROLE, DEFAULT_DATABASE, SUPERUSER_ROLE } from './instance-server';
export type {
  InstanceServer,
  InstanceServerOptions,
  PrivateServer,
  PrivateServerConnection,
  PrivateServerOptions,
  InstanceRoleKind,
  InstanceRole,
  InstanceRoleAttributes,
  CreateRoleOptions,
  DropRoleOptions,
} from './instance-server';
export { InstanceServerError } from './errors';
export { DEFAULT_RESTART_DELAYS_MS } from './supervision';
export type { ServerHealth } from './supervision';
export type { InstanceServerErrorCode } from './errors';
export { INSTANCE_SERVER_FIDELITY_GAPS } from './fidelity';
export type { FidelityGap } from './fidelity';
