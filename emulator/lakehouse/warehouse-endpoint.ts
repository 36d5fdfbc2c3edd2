// The warehouses' Thrift-over-HTTPS endpoint, `https://127.0.0.1:<port>/sql/1.0/warehouses/{id}`
// (also the legacy `/sql/1.0/endpoints/{id}`), the address a warehouse's `odbc_params` give. It
// is TLS with a certificate from the emulator's CA, because `@databricks/sql` 2.1 always speaks
// HTTPS and verifies the server (trust the CA with NODE_EXTRA_CA_CERTS, or the driver's
// customCaCert). Each POST carries one TBinaryProtocol message; the reply is the processor's.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import thrift from 'thrift';
import TCLIService from '@databricks/sql/thrift/TCLIService';
import type { Identity } from '../identities';
import type { ThriftService } from './thrift-service';
import type { WarehouseRegistry } from './warehouses';

export interface WarehouseEndpointOptions {
  certificate: { certPem: string; keyPem: string };
  authenticate(authorization: string | undefined): Promise<Identity>;
  /** The service of a warehouse that accepts queries now; an error (with an HTTP status) otherwise. */
  serviceFor(warehouseId: string): Promise<ThriftService>;
  log: (line: string) => void;
}

const PATH = /^\/sql\/(?:1\.0|2\.0)\/(?:warehouses|endpoints)\/([^/?]+)\/?(?:\?.*)?$/;
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** An HTTP failure the endpoint answers with (the driver retries 429 and 503, and reports the rest). */
export class EndpointError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * `serviceFor` over the emulator's warehouses: one Thrift service per warehouse (they share the
 * engine; each keeps its own sessions), made on first use. Only a warehouse that is not there is
 * a 404; any other failure stays what it is (a 500 with its message, logged), so that it is never
 * mistaken for a missing warehouse.
 */
export function warehouseServices(warehouses: Pick<WarehouseRegistry, 'find'>, makeService: () => ThriftService): {
  serviceFor(warehouseId: string): Promise<ThriftService>;
  closeAll(): Promise<void>;
} {
  const services = new Map<string, ThriftService>();
  return {
    async serviceFor(id) {
      const record = warehouses.find(id);
      if (record === undefined) throw new EndpointError(404, `Warehouse ${id} does not exist.`);
      if (record.state !== 'RUNNING') throw new EndpointError(503, `Warehouse ${id} is ${record.state}; start it first.`);
      let service = services.get(id);
      if (service === undefined) {
        service = makeService();
        services.set(id, service);
      }
      return service;
    },
    async closeAll() {
      for (const service of services.values()) await service.closeAll();
    },
  };
}

export function createWarehouseEndpoint(options: WarehouseEndpointOptions): Server {
  const server = createServer({ cert: options.certificate.certPem, key: options.certificate.keyPem }, (request, response) => {
    handle(request, response, options).catch((error: unknown) => {
      const status = error instanceof EndpointError ? error.status : 500;
      if (!(error instanceof EndpointError)) options.log(`warehouse endpoint: ${(error as Error).stack ?? String(error)}`);
      if (!response.headersSent) response.writeHead(status, { 'Content-Type': 'text/plain' });
      response.end(error instanceof Error ? error.message : String(error));
    });
  });
  // The driver keeps its connections alive without a limit and reuses one for the next call, which
  // may come seconds later (after it decoded a page). With Node's default of 5 s the server could
  // close an idle connection just as a request was sent on it: the driver's ECONNRESET, which it
  // does not retry. A real warehouse sits behind a load balancer that keeps idle connections for
  // minutes; so does this one.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  return server;
}

async function handle(request: IncomingMessage, response: ServerResponse, options: WarehouseEndpointOptions): Promise<void> {
  const match = PATH.exec(request.url ?? '');
  if (request.method !== 'POST' || match === null) throw new EndpointError(404, `No warehouse endpoint at ${request.method} ${request.url}.`);
  let identity: Identity;
  try {
    identity = await options.authenticate(request.headers.authorization);
  } catch (error) {
    throw new EndpointError(401, (error as Error).message);
  }
  const service = await options.serviceFor(decodeURIComponent(match[1]));
  const body = await readBody(request);
  service.user = identity.postgresName;
  const reply = await processCall(service, body);
  response.writeHead(200, { 'Content-Type': 'application/x-thrift', 'Content-Length': reply.reduce((sum, piece) => sum + piece.length, 0) });
  for (const piece of reply) response.write(piece);
  response.end();
}

/** Pieces up to this size are joined before they are written; bigger ones (Arrow batches) go as they are. */
const SMALL_PIECE_BYTES = 64 * 1024;

/**
 * The reply as the protocol writes it, handed over in pieces on flush. Thrift's own buffered
 * transport joins every piece into one buffer, which for a page of rows means copying megabytes
 * of Arrow batches that can be written to the socket as they are.
 */
class ReplyTransport {
  readonly #pieces: Buffer[] = [];
  constructor(private readonly onFlush: (pieces: Buffer[]) => void) {}
  write(piece: Buffer | string): void {
    this.#pieces.push(typeof piece === 'string' ? Buffer.from(piece) : piece);
  }
  /** The protocol records the call's sequence id on its transport; a reply needs nothing of it. */
  setCurrSeqId(): void {}
  flush(): void {
    const pieces: Buffer[] = [];
    let small: Buffer[] = [];
    for (const piece of this.#pieces.splice(0)) {
      if (piece.length <= SMALL_PIECE_BYTES) {
        small.push(piece);
        continue;
      }
      if (small.length > 0) pieces.push(Buffer.concat(small));
      small = [];
      pieces.push(piece);
    }
    if (small.length > 0) pieces.push(Buffer.concat(small));
    this.onFlush(pieces);
  }
}

/** One Thrift call: the request message in, the reply message out (the processor writes it on flush). */
function processCall(service: ThriftService, body: Buffer): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const processor = new TCLIService.Processor(service as never);
    const receive = thrift.TBufferedTransport.receiver((transport: thrift.TTransport) => {
      const input = new thrift.TBinaryProtocol(transport);
      const output = new thrift.TBinaryProtocol(new ReplyTransport(resolve) as unknown as thrift.TTransport);
      try {
        processor.process(input, output);
      } catch (error) {
        reject(error);
      }
    }, 0);
    receive(body);
  });
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new EndpointError(413, 'The Thrift message is too large.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
