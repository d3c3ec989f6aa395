// ControlPlaneClient: typed calls to the control plane over one undici pool per origin, with per-call
// deadlines, retries for calls that are safe to repeat, and errors mapped to the CLI's exit codes.
import {setFlagsFromString} from 'node:v8'

import type {Dispatcher} from 'undici'
// undici's index loads fetch, WebSocket, caches and more, which makes an API command start several times
// slower than a bare Node process. This client needs only the Pool and the request call; the index
// would attach that call to every dispatcher, so it is called on the dispatcher here (bench/startup.mjs).
import Pool from 'undici/lib/dispatcher/pool.js'
import request from 'undici/lib/api/api-request.js'

import type {
  AppHistoryEntry,
  AppState,
  DryRun,
  RollbackRequest,
  ApplyRequest,
  ApplyResponse,
  Environment,
  ErrorBody,
  LogsResponse,
  Project,
  PauseResponse,
  Release,
  Replica,
  ResumeResponse,
  Schedule,
  SetApprovalRequest,
  SetScheduleRequest,
  SetParallelRequest,
  SettingsView,
  SyncRequest,
  SyncResponse,
  TriggerRequest,
  TriggerResponse,
  WhoAmI,
} from '../api/schemas.js'
import {EXIT} from '../api/domain.js'
import {delay} from './delay.js'
import {ApiError, CliError, codeForStatus, UnreachableError} from './errors.js'

// undici parses HTTP with llhttp compiled to WebAssembly. V8 compiles it quickly with its baseline
// compiler, then again with its optimising one on background threads, which a short-lived CLI process
// waits for at exit: about 200 ms per command, for a parser that reads a few small responses. Baseline
// code only (set before the first connection compiles the module) keeps that time (bench/startup.mjs).
// Set here, once undici and the Node modules it needs are loaded, not earlier: a V8 flag set at run time
// makes Node compile every built-in module loaded after it from source (its embedded code cache no
// longer fits the flags), and the bundle's own code cache must be made and read under the same flags.
setFlagsFromString('--liftoff-only')

export interface ClientOptions {
  url: string
  token?: string
  /** who is acting, sent as X-Relctl-Actor for release metadata */
  actor?: string
  /** deadline of one call, milliseconds */
  timeoutMs?: number
  /** retries of calls that are safe to repeat (GETs, and POSTs with an Idempotency-Key) */
  retries?: number
  /** a dispatcher to use instead of a new pool (tests pass undici's MockAgent) */
  dispatcher?: Dispatcher
}

interface CallOptions {
  query?: Record<string, string | number | boolean | undefined>
  body?: unknown
  idempotencyKey?: string
  timeoutMs?: number
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
])
const RETRY_STATUSES = new Set([502, 503, 504])

const enc = encodeURIComponent

/** An answer without a relctl error body (a proxy in front, say), in the words of the CLI. */
function bodylessError(status: number): ErrorBody['error'] {
  const code = codeForStatus(status)
  if (code === 'too_large') return {code, message: `the request is too large (HTTP ${status})`, hint: 'send less, or raise the body limit of the proxy in front of the control plane'}
  return {code, message: `the control plane answered HTTP ${status}`}
}

export class ControlPlaneClient {
  readonly url: string
  private readonly origin: URL
  private readonly dispatcher: Dispatcher
  private readonly ownsDispatcher: boolean

  constructor(private readonly options: ClientOptions) {
    let origin: URL
    try {
      origin = new URL(options.url)
    } catch {
      throw new CliError(`"${options.url}" is not a URL`, EXIT.usage, 'invalid_input', 'pass --url http://host:port')
    }
    if (origin.protocol !== 'http:' && origin.protocol !== 'https:') {
      throw new CliError(`"${options.url}" must start with http:// or https://`, EXIT.usage, 'invalid_input')
    }
    this.origin = origin
    this.url = origin.origin + origin.pathname.replace(/\/$/, '')
    this.ownsDispatcher = !options.dispatcher
    this.dispatcher = options.dispatcher ?? new Pool(origin.origin, {connections: 4, keepAliveTimeout: 10_000})
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close()
  }

  private async call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options: CallOptions = {}): Promise<T> {
    const canRetry = method === 'GET' || options.idempotencyKey !== undefined
    const attempts = 1 + (canRetry ? (this.options.retries ?? 2) : 0)
    let lastError: unknown
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await delay(backoff(attempt))
      try {
        const {status, body} = await this.send(method, path, options)
        if (status >= 200 && status < 300) return body as T
        if (RETRY_STATUSES.has(status) && attempt < attempts - 1) {
          lastError = new CliError(`the control plane answered ${status}`, EXIT.unexpected, 'unavailable')
          continue
        }
        const error = (body as ErrorBody | undefined)?.error
        throw new ApiError(status, error?.code ? error : bodylessError(status))
      } catch (error) {
        if (!(error instanceof UnreachableError)) throw error
        lastError = error
      }
    }
    throw lastError
  }

  private async send(method: string, path: string, options: CallOptions): Promise<{status: number; body: unknown}> {
    const search = new URLSearchParams()
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) search.set(key, String(value))
    const fullPath = `${this.origin.pathname.replace(/\/$/, '')}${path}${search.size > 0 ? `?${search}` : ''}`
    const headers: Record<string, string> = {accept: 'application/json'}
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`
    if (this.options.actor) headers['x-relctl-actor'] = this.options.actor
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? 30_000
    try {
      const response = await request.call(this.dispatcher, {
        origin: this.origin.origin,
        path: fullPath,
        method: method as Dispatcher.HttpMethod,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(timeoutMs),
      })
      const text = await response.body.text()
      let body: unknown
      try {
        body = text ? JSON.parse(text) : undefined
      } catch {
        // A refusal in HTML or plain text (a proxy's 413, say) is still a refusal: read it by its status.
        if (response.statusCode >= 400) return {status: response.statusCode, body: undefined}
        throw new CliError(`the control plane at ${this.url} answered with something that is not JSON (HTTP ${response.statusCode})`, EXIT.unexpected, 'bad_response', 'is --url pointing at a relctl control plane?')
      }
      return {status: response.statusCode, body}
    } catch (error) {
      const err = error as {code?: string; name?: string; cause?: {code?: string}}
      const code = err.code ?? err.cause?.code
      if (err.name === 'TimeoutError' || err.name === 'AbortError') throw new UnreachableError(this.url, `no answer within ${timeoutMs} ms`)
      if (code && UNREACHABLE_CODES.has(code)) throw new UnreachableError(this.url, code)
      throw error
    }
  }

  whoami() {
    return this.call<WhoAmI>('GET', '/v1/whoami')
  }

  /** The replicas serving the control plane's database that are alive, with what each runs. */
  listReplicas() {
    return this.call<Replica[]>('GET', '/v1/replicas')
  }

  applyProject(request: ApplyRequest) {
    return this.call<ApplyResponse>('POST', '/v1/projects', {body: request})
  }

  listProjects() {
    return this.call<Project[]>('GET', '/v1/projects')
  }

  getProject(project: string) {
    return this.call<Project>('GET', `/v1/projects/${enc(project)}`)
  }

  listEnvironments(project: string) {
    return this.call<Environment[]>('GET', `/v1/projects/${enc(project)}/environments`)
  }

  getEnvironment(project: string, environment: string) {
    return this.call<Environment>('GET', `/v1/projects/${enc(project)}/environments/${enc(environment)}`)
  }

  listApps(project: string, environment: string, options: {timeoutMs?: number; refresh?: boolean} = {}) {
    const {refresh, ...call} = options
    return this.call<AppState[]>('GET', `/v1/projects/${enc(project)}/environments/${enc(environment)}/apps`, {...call, ...(refresh && {query: {refresh: true}})})
  }

  appHistory(project: string, environment: string, app: string, limit?: number) {
    return this.call<AppHistoryEntry[]>('GET', `/v1/projects/${enc(project)}/environments/${enc(environment)}/apps/${enc(app)}/history`, {query: {limit}})
  }

  rollback(id: number, request: RollbackRequest, idempotencyKey: string) {
    return this.call<TriggerResponse>('POST', `/v1/releases/${id}/rollback`, {body: request, idempotencyKey})
  }

  rollbackDryRun(id: number, request: RollbackRequest) {
    return this.call<DryRun>('POST', `/v1/releases/${id}/rollback`, {body: {...request, dryRun: true}})
  }

  setAppVersion(project: string, environment: string, app: string, version: string) {
    return this.call<AppState>('PUT', `/v1/projects/${enc(project)}/environments/${enc(environment)}/apps/${enc(app)}/version`, {body: {version}})
  }

  /** The plan a trigger would make, and what would hold it back; nothing is queued. */
  triggerDryRun(project: string, environment: string, request: TriggerRequest) {
    return this.call<DryRun>('POST', `/v1/projects/${enc(project)}/environments/${enc(environment)}/releases`, {body: {...request, dryRun: true}})
  }

  trigger(project: string, environment: string, request: TriggerRequest, idempotencyKey: string) {
    return this.call<TriggerResponse>('POST', `/v1/projects/${enc(project)}/environments/${enc(environment)}/releases`, {body: request, idempotencyKey})
  }

  /** A dry run of a sync: the plan, or {release: null} when all are in sync already. */
  syncDryRun(project: string, environment: string, request: SyncRequest) {
    return this.call<DryRun | SyncResponse>('POST', `/v1/projects/${enc(project)}/environments/${enc(environment)}/sync`, {body: {...request, dryRun: true}})
  }

  sync(project: string, environment: string, request: SyncRequest, idempotencyKey: string) {
    return this.call<SyncResponse>('POST', `/v1/projects/${enc(project)}/environments/${enc(environment)}/sync`, {body: request, idempotencyKey})
  }

  listReleases(filter: {project?: string; environment?: string; status?: string; active?: boolean; limit?: number}) {
    return this.call<Release[]>('GET', '/v1/releases', {query: filter})
  }

  getRelease(id: number, options: {timeoutMs?: number} = {}) {
    return this.call<Release>('GET', `/v1/releases/${id}`, options)
  }

  releaseLogs(id: number, query: {after?: number; limit?: number; resource?: string; target?: string} = {}) {
    return this.call<LogsResponse>('GET', `/v1/releases/${id}/logs`, {query})
  }

  decideRelease(id: number, verb: 'approve' | 'reject', comment?: string) {
    return this.call<Release>('POST', `/v1/releases/${id}/${verb}`, {body: comment ? {comment} : {}})
  }

  getSettings(scope: {project?: string; environment?: string}) {
    return this.call<SettingsView>('GET', '/v1/settings', {query: scope})
  }

  setParallel(request: SetParallelRequest) {
    return this.call<SettingsView>('PUT', '/v1/settings/parallel', {body: request})
  }

  setApproval(request: SetApprovalRequest) {
    return this.call<SettingsView>('PUT', '/v1/settings/approval', {body: request})
  }

  pause(project: string, environment: string | undefined, reason?: string) {
    return this.call<PauseResponse>('POST', `${scopePath(project, environment)}/pause`, {body: reason ? {reason} : {}})
  }

  resume(project: string, environment: string | undefined) {
    return this.call<ResumeResponse>('POST', `${scopePath(project, environment)}/resume`)
  }

  setSchedule(project: string, environment: string, request: SetScheduleRequest) {
    return this.call<Schedule>('PUT', `${scopePath(project, environment)}/schedule`, {body: request})
  }

  getSchedule(project: string, environment: string) {
    return this.call<Schedule>('GET', `${scopePath(project, environment)}/schedule`)
  }

  scheduleAction(project: string, environment: string, action: 'pause' | 'resume' | 'delete') {
    const path = `${scopePath(project, environment)}/schedule`
    return action === 'delete' ? this.call<Schedule>('DELETE', path) : this.call<Schedule>('POST', `${path}/${action}`)
  }

  cancelRelease(id: number) {
    return this.call<Release>('POST', `/v1/releases/${id}/cancel`, {timeoutMs: 60_000})
  }
}

function scopePath(project: string, environment?: string): string {
  return `/v1/projects/${enc(project)}${environment ? `/environments/${enc(environment)}` : ''}`
}

function backoff(attempt: number): number {
  const base = 150 * 2 ** (attempt - 1)
  return base + Math.random() * base
}

