// `/api/2.0/pipelines`: the pipelines of synced tables, their updates (start, get — wrapped as
// `{update: ...}` —, list) and stop, in the shapes of the SDK's `pipelines/model.d.ts`. Pipelines are
// made by synced tables; creating, editing or deleting one directly is refused by name.
import { errors } from '../api-errors';
import { onlyFields, optionalBoolean, optionalString } from '../http';
import type { Reply, Route } from '../http';
import { paginate } from '../pagination';
import { UPDATE_CAUSES } from '../pipeline-state';
import type { UpdateCause } from '../pipeline-state';
import type { PipelineRegistry } from '../pipelines';
import type { PipelineRecord, PipelineUpdateRecord } from '../store';

const BASE = '/api/2.0/pipelines';
/** `max_results` of update and pipeline lists: the service's default and cap. */
const LIST_LIMITS = { default: 25, max: 100 };

function ok(body: unknown): Reply {
  return { status: 200, body };
}

function renderUpdate(record: PipelineRecord, update: PipelineUpdateRecord) {
  return {
    pipeline_id: record.id,
    update_id: update.id,
    state: update.state,
    cause: update.cause,
    creation_time: update.creationTime,
    full_refresh: update.fullRefresh,
    mode: record.continuous ? 'CONTINUOUS' : 'DEFAULT',
    validate_only: false,
  };
}

/** `UpdateStateInfo`, whose `creation_time` is a string (RFC 3339) unlike UpdateInfo's milliseconds. */
function renderLatest(update: PipelineUpdateRecord) {
  return { update_id: update.id, state: update.state, creation_time: new Date(update.creationTime).toISOString() };
}

function renderSpec(record: PipelineRecord) {
  return {
    id: record.id,
    name: record.name,
    continuous: record.continuous,
    channel: record.channel,
    serverless: true,
    development: false,
    ...(record.catalog !== undefined ? { catalog: record.catalog } : {}),
    ...(record.schema !== undefined ? { schema: record.schema } : {}),
    tags: { synced_table: record.owner.name },
  };
}

function parseMaxResults(raw: string | null): number {
  if (raw === null || raw === '') return LIST_LIMITS.default;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw errors.invalidParameter('max_results', `max_results must be a positive whole number, got '${raw}'.`);
  return Math.min(value, LIST_LIMITS.max);
}

export function pipelineRoutes(pipelines: PipelineRegistry): Route[] {
  const render = (record: PipelineRecord) => {
    const state = pipelines.state(record);
    return {
      pipeline_id: record.id,
      name: record.name,
      state,
      health: state === 'FAILED' ? 'UNHEALTHY' : 'HEALTHY',
      creator_user_name: record.creator,
      run_as_user_name: record.creator,
      last_modified: record.lastModified,
      latest_updates: record.updates.slice(0, 5).map(renderLatest),
      spec: renderSpec(record),
    };
  };
  return [
    {
      method: 'GET', path: BASE, authenticated: true,
      handle(request) {
        const page = paginate(pipelines.list(), (record) => record.id, parseMaxResults(request.url.searchParams.get('max_results')), request.url.searchParams.get('page_token'));
        return ok({
          statuses: page.items.map((record) => {
            const { spec: _spec, last_modified: _modified, ...status } = render(record);
            return status;
          }),
          ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
        });
      },
    },
    {
      method: 'POST', path: BASE, authenticated: true,
      handle() {
        throw errors.notImplemented('Creating Lakeflow pipelines (the emulator\'s pipelines are the ones synced tables make)', { feature: 'pipelines.create' });
      },
    },
    { method: 'GET', path: `${BASE}/{id}`, authenticated: true, handle: (request) => ok(render(pipelines.get(request.params.id))) },
    {
      method: 'PUT', path: `${BASE}/{id}`, authenticated: true,
      handle(request) {
        pipelines.get(request.params.id);
        throw errors.notImplemented('Editing a synced table\'s pipeline', { pipeline_id: request.params.id });
      },
    },
    {
      method: 'DELETE', path: `${BASE}/{id}`, authenticated: true,
      handle(request) {
        const record = pipelines.get(request.params.id);
        throw errors.notImplemented(`Deleting a synced table's pipeline directly (delete the synced table ${record.owner.name} instead)`, { pipeline_id: record.id });
      },
    },
    {
      method: 'POST', path: `${BASE}/{id}/updates`, authenticated: true,
      async handle(request) {
        const body = request.body;
        onlyFields(body, ['pipeline_id', 'full_refresh', 'cause', 'full_refresh_selection', 'refresh_selection', 'refresh_flow_selection', 'reset_checkpoint_selection', 'validate_only', 'parameters', 'replace_where_overrides', 'rewind_spec'], 'StartUpdate');
        for (const field of ['full_refresh_selection', 'refresh_selection', 'refresh_flow_selection', 'reset_checkpoint_selection', 'replace_where_overrides', 'rewind_spec', 'parameters']) {
          if (body[field] !== undefined) throw errors.notImplemented(`StartUpdate.${field}`, { field });
        }
        if (optionalBoolean(body, 'validate_only')) throw errors.notImplemented('Validate-only updates', { field: 'validate_only' });
        const cause = optionalString(body, 'cause') ?? 'API_CALL';
        if (!(UPDATE_CAUSES as readonly string[]).includes(cause)) {
          throw errors.invalidParameter('cause', `Invalid cause '${cause}'. Valid values are ${UPDATE_CAUSES.join(', ')}.`);
        }
        const update = await pipelines.startUpdate(request.params.id, { cause: cause as UpdateCause, fullRefresh: optionalBoolean(body, 'full_refresh') ?? false });
        return ok({ update_id: update.id });
      },
    },
    {
      method: 'GET', path: `${BASE}/{id}/updates`, authenticated: true,
      handle(request) {
        const record = pipelines.get(request.params.id);
        const until = request.url.searchParams.get('until_update_id');
        let updates = record.updates;
        if (until) {
          const index = updates.findIndex((update) => update.id === until);
          if (index < 0) throw errors.invalidParameter('until_update_id', `No update ${until} in pipeline ${record.id}.`);
          updates = updates.slice(index);
        }
        // Newest first; the page token names the last update of the previous page.
        const size = parseMaxResults(request.url.searchParams.get('max_results'));
        const token = request.url.searchParams.get('page_token');
        const start = token ? updates.findIndex((update) => update.id === Buffer.from(token, 'base64url').toString('utf8')) + 1 : 0;
        if (token && start === 0) throw errors.invalidParameter('page_token', 'Invalid page_token.');
        const page = updates.slice(start, start + size);
        const more = start + size < updates.length;
        return ok({
          updates: page.map((update) => renderUpdate(record, update)),
          ...(more ? { next_page_token: Buffer.from(page[page.length - 1].id, 'utf8').toString('base64url') } : {}),
        });
      },
    },
    {
      method: 'GET', path: `${BASE}/{id}/updates/{update}`, authenticated: true,
      handle(request) {
        const record = pipelines.get(request.params.id);
        return ok({ update: renderUpdate(record, pipelines.getUpdate(record.id, request.params.update)) });
      },
    },
    {
      method: 'POST', path: `${BASE}/{id}/stop`, authenticated: true,
      async handle(request) {
        await pipelines.stop(request.params.id);
        return ok({});
      },
    },
  ];
}
