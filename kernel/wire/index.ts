// The Jupyter wire protocol, both ends: the kernel's server and a Node client. See each module.
export * from './errors';
export * from './messages';
export * from './codec';
export * from './connection-file';
export * from './server';
