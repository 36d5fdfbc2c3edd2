// The wire of the emulator's REST API: an HTTP server, a routing table, body parsing, bearer
// authentication and error rendering, all in one place; what a route means lives in the route
// modules (`routes/*.ts`). Every failure leaves as the real service's error body.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ApiError, errors } from './api-errors';
import type { Identity } from './identities';

const MAX_BODY_BYTES = 1024 * 1024;

export interface Request {
  method: string;
  url: URL;
  /** Path parameters, decoded. */
  params: Record<string, string>;
  headers: IncomingMessage['headers'];
  /** Parsed JSON body (`{}` when empty) for `json` routes; form fields for `form` routes. */
  body: Record<string, unknown>;
  /** The caller; set on authenticated routes (see `caller`). */
  identity: Identity | undefined;
}

/** The authenticated caller of a request on an authenticated route. */
export function caller(request: Request): Identity {
  if (!request.identity) throw new Error('caller() on a route without authentication (a bug in the route table).');
  return request.identity;
}

export interface Reply {
  status: number;
  /** JSON, or bytes sent as they are (with `contentType`), e.g. an Arrow stream. */
  body: unknown;
  contentType?: string;
}

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT' | '*';
  /** Segments with `{param}` placeholders, e.g. `/api/2.0/database/instances/{name}`. */
  path: string;
  /** Whether the route needs a bearer; OAuth discovery and the token endpoint do not. */
  authenticated: boolean;
  body?: 'json' | 'form';
  handle(request: Request): Promise<Reply> | Reply;
}

export type Authenticator = (authorization: string | undefined) => Promise<Identity>;

interface CompiledRoute {
  route: Route;
  segments: string[];
}

function compile(route: Route): CompiledRoute {
  return { route, segments: route.path.split('/') };
}

function match(compiled: CompiledRoute, pathSegments: string[]): Record<string, string> | undefined {
  const { segments } = compiled;
  if (segments.length !== pathSegments.length) return undefined;
  const params: Record<string, string> = {};
  for (let index = 0; index < segments.length; index++) {
    const pattern = segments[index];
    const actual = pathSegments[index];
    if (pattern.startsWith('{') && pattern.endsWith('}')) {
      if (actual === '') return undefined;
      try {
        params[pattern.slice(1, -1)] = decodeURIComponent(actual);
      } catch (error) {
        throw new ApiError('BAD_REQUEST', `Malformed percent-encoding in the path segment '${actual}'.`, {}, { cause: error });
      }
    } else if (pattern !== actual) {
      return undefined;
    }
  }
  return params;
}

async function readBody(message: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of message) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ApiError('BAD_REQUEST', `Request body larger than ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJsonBody(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw errors.malformedBody((error as Error).message);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw errors.malformedBody('expected a JSON object');
  return parsed as Record<string, unknown>;
}

function parseFormBody(text: string): Record<string, unknown> {
  return Object.fromEntries(new URLSearchParams(text));
}

function send(response: ServerResponse, status: number, body: unknown, contentType?: string): void {
  if (Buffer.isBuffer(body)) {
    response.writeHead(status, { 'Content-Type': contentType ?? 'application/octet-stream', 'Content-Length': body.length });
    response.end(body);
    return;
  }
  const text = body === undefined ? '{}' : JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

export interface ApiServerOptions {
  routes: readonly Route[];
  authenticate: Authenticator;
  log: (line: string) => void;
}

export function createApiServer(options: ApiServerOptions): Server {
  const compiled = options.routes.map(compile);

  async function dispatch(message: IncomingMessage): Promise<Reply> {
    const method = message.method ?? 'GET';
    const url = new URL(message.url ?? '/', 'http://emulator.invalid');
    const pathSegments = url.pathname.split('/');
    let found: { route: Route; params: Record<string, string> } | undefined;
    for (const candidate of compiled) {
      const params = match(candidate, pathSegments);
      if (params && (candidate.route.method === method || candidate.route.method === '*')) {
        found = { route: candidate.route, params };
        break;
      }
    }
    if (!found) throw errors.endpointNotFound(method, url.pathname);
    const { route, params } = found;
    const identity = route.authenticated ? await options.authenticate(message.headers.authorization) : undefined;
    const text = await readBody(message);
    const body = route.body === 'form' ? parseFormBody(text) : parseJsonBody(text);
    return route.handle({ method, url, params, headers: message.headers, body, identity });
  }

  return createServer((message, response) => {
    const started = Date.now();
    const path = (message.url ?? '/').split('?')[0];
    dispatch(message)
      .then((reply) => {
        send(response, reply.status, reply.body, reply.contentType);
        options.log(`${message.method} ${path} ${reply.status} ${Date.now() - started}ms`);
      })
      .catch((error: unknown) => {
        const apiError = error instanceof ApiError ? error : errors.internal(error);
        if (!(error instanceof ApiError)) {
          options.log(`${message.method} ${path} failed: ${error instanceof Error ? error.stack : String(error)}`);
        }
        send(response, apiError.status, apiError.toBody());
        options.log(`${message.method} ${path} ${apiError.status} ${apiError.code} ${Date.now() - started}ms`);
      });
  });
}

/** JSON field helpers for route modules: wrong types are 400s naming the field. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw errors.invalidParameter(field, `${field} must be a string.`);
  return value;
}

export function requiredString(body: Record<string, unknown>, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined || value === '') throw errors.missingParameter(field);
  return value;
}

export function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw errors.invalidParameter(field, `${field} must be a boolean.`);
  return value;
}

/** Query flags arrive as `true`/`false` strings. */
export function queryBoolean(url: URL, field: string): boolean | undefined {
  const value = url.searchParams.get(field);
  if (value === null) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw errors.invalidParameter(field, `${field} must be true or false, got '${value}'.`);
}

/** Refuses fields a route does not know, naming the first. */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const field of Object.keys(body)) if (!allowed.includes(field)) throw errors.unknownField(field, where);
}
