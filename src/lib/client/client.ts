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
  AddFreezeRequest,
  AppHistoryEntry,
  AppState,
  BlockedVersion,
  BlockResponse,
  Freeze,
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
  RetryRequest,
  Schedule,
  SetApprovalRequest,
  SetQueueRequest,
  SetScheduleRequest,
  SetParallelRequest,
  SettingsView,
  SyncRequest,
  SyncResponse,
  TriggerRequest,
  TriggerResponse,
  UnblockResponse,
} from '../api/schemas.js'
import type {EventsPage} from '../api/event-schemas.js'
import type {PipelineDryRun, PipelineRun, PipelineRunSummary, PromoteRequest, PromoteResponse, RunPipelineRequest, RunPipelineResponse} from '../api/pipeline-schemas.js'
import type {CreatedNotification, CreateNotificationRequest, Delivery, Notification, TestResult} from '../api/notification-schemas.js'
import type {AuditEntry, CreateTokenRequest, NewToken, TokenInfo, WhoAmI} from '../api/access.js'
import {EXIT} from '../api/domain.js'
import {delay} from './delay.js'
import {ApiError, CliError, codeForStatus, TlsError, UnreachableError} from './errors.js'

// undici parses HTTP with llhttp compiled to WebAssembly. V8 compiles it quickly with its baseline
// compiler, then again with its optimising one on background threads, which a short-lived CLI process
// waits for at exit: about 200 ms per command, for a parser that reads a few small responses. Baseline
// code only (set before the first connection compiles the module) keeps that time (bench/startup.mjs).
// Set here, once undici and the Node modules it needs are loaded, not earlier: a V8 flag set at run time
// makes Node compile every built-in module loaded after it from source (its embedded code cache no
// longer fits the flags), and the bundle's own code cache must be made and read under the same flags.
setFlagsFromString('--liftoff-only')

/** What an event stream follows: every field narrows (GET /v1/events). */
export interface EventStreamQuery {
  project?: string
  environment?: string
  release?: number
  /** comma-separated app names */
  app?: string
  /** comma-separated kind patterns */
  kinds?: string
  after?: number
}

export interface ClientOptions {
  url: string
  token?: string
  /** PEM certificates to trust for an https:// URL instead of the system's (--ca-file) */
  ca?: string | Buffer
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
/** The server's certificate was not trusted (undici passes Node's TLS error codes on). */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

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
    this.dispatcher = options.dispatcher ?? new Pool(origin.origin, {connections: 4, keepAliveTimeout: 10_000, ...(options.ca && {connect: {ca: options.ca}})})
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
      throw this.transportError(error, timeoutMs)
    }
  }

  /**
   * Opens the event stream (GET /v1/events as Server-Sent Events) and answers with the response as it
   * is: the caller reads the body as it comes (client/events.ts). It resumes after `lastEventId` (sent as
   * the Last-Event-ID header); without it, the stream starts now. A silent connection (no heartbeat for
   * bodyTimeoutMs) fails the read, so that the caller reconnects.
   */
  async openEventStream(query: EventStreamQuery, options: {lastEventId?: number; signal?: AbortSignal; bodyTimeoutMs: number}): Promise<Dispatcher.ResponseData> {
    const search = new URLSearchParams()
    for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') search.set(key, String(value))
    const headers: Record<string, string> = {accept: 'text/event-stream'}
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`
    if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId)
    try {
      return await request.call(this.dispatcher, {
        origin: this.origin.origin,
        path: `${this.origin.pathname.replace(/\/$/, '')}/v1/events${search.size > 0 ? `?${search}` : ''}`,
        method: 'GET',
        headers,
        signal: options.signal,
        headersTimeout: 10_000,
        bodyTimeout: options.bodyTimeoutMs,
      })
    } catch (error) {
      throw this.transportError(error, 10_000)
    }
  }

  /** A page of events after a position, waiting up to waitMs for the first (the JSON long poll of GET /v1/events). */
  eventsPage(query: EventStreamQuery, waitMs: number) {
    const seconds = Math.max(1, Math.round(waitMs / 1000))
    return this.call<EventsPage>('GET', '/v1/events', {query: {...query, wait: `${seconds}s`}, timeoutMs: waitMs + 10_000})
  }

  /** An undici failure in the CLI's terms: unreachable (exit 8) where the network or the deadline failed. */
  transportError(error: unknown, timeoutMs: number): unknown {
    const err = error as {code?: string; name?: string; cause?: {code?: string}}
    const code = err.code ?? err.cause?.code
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return new UnreachableError(this.url, `no answer within ${timeoutMs} ms`)
    if (code && UNREACHABLE_CODES.has(code)) return new UnreachableError(this.url, code)
    if (code && UNTRUSTED_CERTIFICATE_CODES.has(code)) {
      return new TlsError(this.url, `its TLS certificate is not trusted (${code})`, 'pass the certificate (or the CA that signed it) with --ca-file, RELCTL_CA_FILE or relctl login --ca-file')
    }
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO') {
      return new TlsError(this.url, `the TLS handshake failed (${code})`, 'does the control plane serve HTTPS? If it serves plain HTTP, use an http:// URL')
    }
    return error
  }

  whoami() {
    return this.call<WhoAmI>('GET', '/v1/whoami')
  }

  createToken(request: CreateTokenRequest) {
    return this.call<NewToken>('POST', '/v1/tokens', {body: request})
  }

  listTokens() {
    return this.call<TokenInfo[]>('GET', '/v1/tokens')
  }

  rotateToken(name: string, expiresIn?: string) {
    return this.call<NewToken>('POST', `/v1/tokens/${enc(name)}/rotate`, {body: expiresIn ? {expiresIn} : {}})
  }

  revokeToken(name: string) {
    return this.call<TokenInfo>('DELETE', `/v1/tokens/${enc(name)}`)
  }

  listAudit(filter: {project?: string; environment?: string; actor?: string; since?: string; limit?: number}) {
    return this.call<AuditEntry[]>('GET', '/v1/audit', {query: filter})
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

  retry(id: number, request: RetryRequest, idempotencyKey: string) {
    return this.call<TriggerResponse>('POST', `/v1/releases/${id}/retry`, {body: request, idempotencyKey})
  }

  retryDryRun(id: number, request: RetryRequest) {
    return this.call<DryRun>('POST', `/v1/releases/${id}/retry`, {body: {...request, dryRun: true}})
  }

  blockVersion(project: string, app: string, version: string, reason: string) {
    return this.call<BlockResponse>('POST', `/v1/projects/${enc(project)}/apps/${enc(app)}/block`, {body: {version, reason}})
  }

  unblockVersion(project: string, app: string, version: string) {
    return this.call<UnblockResponse>('POST', `/v1/projects/${enc(project)}/apps/${enc(app)}/unblock`, {body: {version}})
  }

  listBlockedVersions(project: string) {
    return this.call<BlockedVersion[]>('GET', `/v1/projects/${enc(project)}/blocked-versions`)
  }

  addFreeze(request: AddFreezeRequest) {
    return this.call<Freeze>('POST', '/v1/freezes', {body: request})
  }

  listFreezes(scope: {project?: string; environment?: string}) {
    return this.call<Freeze[]>('GET', '/v1/freezes', {query: scope})
  }

  deleteFreeze(id: number) {
    return this.call<Freeze>('DELETE', `/v1/freezes/${id}`)
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

  setQueue(request: SetQueueRequest) {
    return this.call<SettingsView>('PUT', '/v1/settings/queue', {body: request})
  }

  /** Pauses a project (or one environment of it); without a project, the whole control plane. */
  pause(project: string | undefined, environment: string | undefined, reason?: string) {
    return this.call<PauseResponse>('POST', `${project === undefined ? '/v1' : scopePath(project, environment)}/pause`, {body: reason ? {reason} : {}})
  }

  resume(project: string | undefined, environment: string | undefined) {
    return this.call<ResumeResponse>('POST', `${project === undefined ? '/v1' : scopePath(project, environment)}/resume`)
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

  createNotification(request: CreateNotificationRequest) {
    return this.call<CreatedNotification>('POST', '/v1/notifications', {body: request})
  }

  listNotifications() {
    return this.call<Notification[]>('GET', '/v1/notifications')
  }

  removeNotification(id: number) {
    return this.call<Notification>('DELETE', `/v1/notifications/${id}`)
  }

  testNotification(id: number) {
    return this.call<TestResult>('POST', `/v1/notifications/${id}/test`, {timeoutMs: 30_000})
  }

  notificationDeliveries(id: number, limit?: number) {
    return this.call<Delivery[]>('GET', `/v1/notifications/${id}/deliveries`, {query: {limit}})
  }

  cancelRelease(id: number) {
    return this.call<Release>('POST', `/v1/releases/${id}/cancel`, {timeoutMs: 60_000})
  }

  /** A run of a pipeline; retried safely with its idempotency key. */
  runPipeline(project: string, pipeline: string, request: RunPipelineRequest, idempotencyKey: string) {
    return this.call<RunPipelineResponse>('POST', `/v1/projects/${enc(project)}/pipelines/${enc(pipeline)}/runs`, {body: request, idempotencyKey})
  }

  /** The whole order of a run and what would hold it back; nothing is recorded. */
  pipelineDryRun(project: string, pipeline: string, request: RunPipelineRequest) {
    return this.call<PipelineDryRun>('POST', `/v1/projects/${enc(project)}/pipelines/${enc(pipeline)}/runs`, {body: {...request, dryRun: true}})
  }

  listPipelineRuns(project: string, filter: {pipeline?: string; active?: boolean; limit?: number} = {}) {
    return this.call<PipelineRunSummary[]>('GET', `/v1/projects/${enc(project)}/pipeline-runs`, {query: filter})
  }

  getPipelineRun(id: number, options: {timeoutMs?: number} = {}) {
    return this.call<PipelineRun>('GET', `/v1/pipeline-runs/${id}`, options)
  }

  decidePipelineRun(id: number, verb: 'approve' | 'reject', comment?: string) {
    return this.call<PipelineRun>('POST', `/v1/pipeline-runs/${id}/${verb}`, {body: comment ? {comment} : {}})
  }

  cancelPipelineRun(id: number) {
    return this.call<PipelineRun>('POST', `/v1/pipeline-runs/${id}/cancel`, {timeoutMs: 60_000})
  }

  promote(project: string, to: string, request: PromoteRequest, idempotencyKey: string) {
    return this.call<PromoteResponse>('POST', `${scopePath(project, to)}/promote`, {body: request, idempotencyKey})
  }
}

function scopePath(project: string, environment?: string): string {
  return `/v1/projects/${enc(project)}${environment ? `/environments/${enc(environment)}` : ''}`
}

function backoff(attempt: number): number {
  const base = 150 * 2 ** (attempt - 1)
  return base + Math.random() * base
}

