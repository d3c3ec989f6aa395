import * as Flags from '@oclif/core/flags'

import {
  DEFAULT_AUDIT_RETENTION,
  DEFAULT_AUDIT_RETENTION_MS,
  DEFAULT_LOG_RETENTION,
  DEFAULT_LOG_RETENTION_MS,
  HEAD_LINES,
  MAX_LINE_BYTES,
  TAIL_LINES,
} from '../../lib/api/log-limits.js'
import {
  DEFAULT_EVENT_RETENTION,
  DEFAULT_EVENT_RETENTION_MS,
  DEFAULT_NOTIFY_ALLOWED_NETWORKS,
  DEFAULT_NOTIFY_RETRY_FOR,
  DEFAULT_NOTIFY_RETRY_FOR_MS,
  DEFAULT_NOTIFY_RETRY_MIN,
  DEFAULT_NOTIFY_RETRY_MIN_MS,
} from '../../lib/api/events.js'
import {DEFAULT_LEASE, DEFAULT_LEASE_MS} from '../../lib/api/replica-limits.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {durationFlag} from '../../lib/cli/flags.js'
import {CliError} from '../../lib/client/errors.js'

export interface ServerStartResult {
  url: string
  /** the admin token, only when this start generated it (the first start): shown this once */
  token: string | null
  tokenSource: string
  dataDir: string
  database: string
  profileWritten: boolean
}

export default class ServerStart extends BaseCommand<typeof ServerStart> {
  static summary = 'Run the control plane (embedded SQLite in the data dir, or PostgreSQL with --database-url).'

  static description = `Binds 127.0.0.1 by default. Every route but /healthz needs a token. The first start makes the admin token and prints it once (it is kept only as a hash), and writes it to the CLI's default profile when that has none, so the next relctl command on this machine just works; make more with "relctl token create". A token given with RELCTL_SERVER_TOKEN or --token-file (both keep it out of the process list, where --token shows to every user of the machine) is the admin token instead, at every start. An older version's token file in the data dir becomes the admin token, and is removed.

HTTPS: --tls-cert and --tls-key (PEM files). Binding an address other than loopback without them prints a warning: tokens would cross the network in clear text. With a self-signed certificate, the default profile written here trusts it (--ca-file).

Every request that changes something is written to the audit log (relctl audit list), kept for --audit-retention (default ${DEFAULT_AUDIT_RETENTION}). Failed authentications are throttled per source address (429 with Retry-After).

On SIGINT or SIGTERM the control plane stops admitting releases, lets running ones finish for --shutdown-grace, then stops them and records them as interrupted. Queued releases stay queued and run after the next start. Deploys run under one supervisor process: if the control plane dies, even by SIGKILL, the supervisor stops them, and the next start records them as interrupted.

Task logs: a line longer than ${MAX_LINE_BYTES / 1024} KiB is cut, a task keeps its first ${HEAD_LINES} and last ${TAIL_LINES} lines, and the lines of releases that ended longer ago than --log-retention (default ${DEFAULT_LOG_RETENTION}) are deleted by a cleanup that runs every half retention (at most hourly).

Deploys see only PATH, HOME, USER, LOGNAME, SHELL, TMPDIR, LANG, LANGUAGE, LC_*, TZ, the RELCTL_* task variables, the variables named with --pass-env (or RELCTL_PASS_ENV, a comma list) and those their resource's exec.passEnv names; never the server's token.

The data dir is made private (700, its files 600), and one control plane holds it at a time: a second one on the same data dir is refused.

With --database-url (or RELCTL_DATABASE_URL) the database is PostgreSQL, which several control planes (replicas) can share, tokens included; each still has its own data dir (for the supervisor). A URL that is not postgres://... or a database that cannot be reached stops the start with exit code 2.

Events (what GET /v1/events and relctl watch serve) are kept for --event-retention (default ${DEFAULT_EVENT_RETENTION}). Notifications (relctl notify) go only to public addresses, and to the internal networks --notify-allow-network names (default ${DEFAULT_NOTIFY_ALLOWED_NETWORKS.join(',')}, so that a laptop can receive its own); a failed delivery is retried with exponential backoff from --notify-retry-min for --notify-retry-for (default ${DEFAULT_NOTIFY_RETRY_FOR}). --public-url is the address their links point at.

With --json, one JSON line with url, token (the generated admin token, else null) and dataDir is printed once the server listens.`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --port 8080 --data-dir ./relctl-data',
    '<%= config.bin %> <%= command.id %> --log-retention 90d',
    'RELCTL_SERVER_TOKEN=s3cret <%= config.bin %> <%= command.id %> --host 0.0.0.0 --port 7420 --json',
    '<%= config.bin %> <%= command.id %> --token-file /etc/relctl/token --pass-env AWS_PROFILE --pass-env KUBECONFIG',
    '<%= config.bin %> <%= command.id %> --host 0.0.0.0 --tls-cert /etc/relctl/cert.pem --tls-key /etc/relctl/key.pem',
    '<%= config.bin %> <%= command.id %> --database-url postgres://relctl@db:5432/relctl --token-file /run/secrets/relctl --host 0.0.0.0',
    '<%= config.bin %> <%= command.id %> --database-url postgres://relctl@db:5432/relctl --token-file /run/secrets/relctl --port 7421 --replica-id eu-2',
  ]

  static flags = {
    host: Flags.string({summary: 'Interface to bind.', default: '127.0.0.1'}),
    port: Flags.integer({summary: 'Port to listen on (0 picks a free one).', default: 7420, min: 0, max: 65_535}),
    'data-dir': Flags.string({summary: 'Folder for the SQLite database and the deploy supervisor.', env: 'RELCTL_DATA_DIR', defaultHelp: async () => '$XDG_DATA_HOME/relctl or ~/.local/share/relctl'}),
    'database-url': Flags.string({summary: 'PostgreSQL to keep the state in, shared by every replica: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.', env: 'RELCTL_DATABASE_URL'}),
    'replica-id': Flags.string({summary: 'Name of this replica in server status and in the releases it runs (default: host:port).', env: 'RELCTL_REPLICA_ID'}),
    lease: durationFlag({summary: 'How long this replica\'s runs stay its own without a heartbeat; after that another replica fails them.', env: 'RELCTL_LEASE', default: DEFAULT_LEASE_MS, defaultHelp: async () => DEFAULT_LEASE}),
    token: Flags.string({summary: 'The admin token (set again at every start). Shows in the process list: prefer RELCTL_SERVER_TOKEN or --token-file.', env: 'RELCTL_SERVER_TOKEN'}),
    'token-file': Flags.string({summary: 'File whose first line is the admin token; keeps it out of the process list.', env: 'RELCTL_SERVER_TOKEN_FILE'}),
    'tls-cert': Flags.string({summary: 'Serve HTTPS with this certificate (PEM, with its chain).', env: 'RELCTL_TLS_CERT', dependsOn: ['tls-key']}),
    'tls-key': Flags.string({summary: 'The private key (PEM) of --tls-cert.', env: 'RELCTL_TLS_KEY', dependsOn: ['tls-cert']}),
    'pass-env': Flags.string({summary: 'Name of a server variable every deploy sees (repeatable, or a comma list).', env: 'RELCTL_PASS_ENV', multiple: true, delimiter: ','}),
    'shutdown-grace': durationFlag({summary: 'How long running releases may finish after SIGINT/SIGTERM.', default: 30_000, defaultHelp: async () => '30s'}),
    'log-retention': durationFlag({
      summary: 'Delete the task log lines of releases that ended longer ago than this (the release records stay).',
      env: 'RELCTL_LOG_RETENTION',
      default: DEFAULT_LOG_RETENTION_MS,
      defaultHelp: async () => DEFAULT_LOG_RETENTION,
    }),
    'event-retention': durationFlag({
      summary: 'Delete events (and ended notification deliveries) older than this; a stream cannot resume from before it.',
      env: 'RELCTL_EVENT_RETENTION',
      default: DEFAULT_EVENT_RETENTION_MS,
      defaultHelp: async () => DEFAULT_EVENT_RETENTION,
    }),
    'public-url': Flags.string({summary: 'The address people and notification receivers reach this control plane at, for links (default: the one it listens on).', env: 'RELCTL_PUBLIC_URL'}),
    'notify-allow-network': Flags.string({
      summary: 'An internal network notifications may go to, as CIDR (repeatable, or a comma list); none else, but public addresses.',
      env: 'RELCTL_NOTIFY_ALLOW_NETWORK',
      multiple: true,
      delimiter: ',',
      defaultHelp: async () => DEFAULT_NOTIFY_ALLOWED_NETWORKS.join(','),
    }),
    'notify-retry-min': durationFlag({
      summary: 'How long a failed notification waits before its first retry; each next one waits twice as long, up to an hour.',
      default: DEFAULT_NOTIFY_RETRY_MIN_MS,
      defaultHelp: async () => DEFAULT_NOTIFY_RETRY_MIN,
    }),
    'notify-retry-for': durationFlag({summary: 'How long a notification is retried before it is given up.', default: DEFAULT_NOTIFY_RETRY_FOR_MS, defaultHelp: async () => DEFAULT_NOTIFY_RETRY_FOR}),
    'audit-retention': durationFlag({
      summary: 'Delete audit entries older than this.',
      env: 'RELCTL_AUDIT_RETENTION',
      default: DEFAULT_AUDIT_RETENTION_MS,
      defaultHelp: async () => DEFAULT_AUDIT_RETENTION,
    }),
    'log-level': Flags.option({options: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const, default: 'info', summary: 'Server log level (logs go to stderr).'})(),
  }

  async run(): Promise<ServerStartResult | void> {
    const {defaultDataDir, startControlPlane} = await import('../../lib/server/server.js')
    const {ensureDefaultProfile} = await import('../../lib/cli/profiles.js')
    const dataDir = this.flags['data-dir'] ?? defaultDataDir()
    let plane
    try {
      plane = await startControlPlane({
        host: this.flags.host,
        port: this.flags.port,
        dataDir,
        databaseUrl: this.flags['database-url'],
        replicaId: this.flags['replica-id'],
        leaseMs: this.flags.lease,
        token: this.flags.token,
        tokenFile: this.flags['token-file'],
        tlsCert: this.flags['tls-cert'],
        tlsKey: this.flags['tls-key'],
        auditRetentionMs: this.flags['audit-retention'],
        // RELCTL_PASS_ENV arrives as one comma list
        passEnv: [this.flags['pass-env'] ?? []].flat().flatMap((names) => names.split(',')).map((name) => name.trim()).filter(Boolean),
        warn: (message) => this.note(`Warning: ${message}`),
        version: this.config.version,
        shutdownGraceMs: this.flags['shutdown-grace'],
        logRetentionMs: this.flags['log-retention'],
        eventRetentionMs: this.flags['event-retention'],
        publicUrl: this.flags['public-url'],
        notifyAllowNetworks: this.flags['notify-allow-network'] && [this.flags['notify-allow-network']].flat().flatMap((networks) => networks.split(',')).map((network) => network.trim()).filter(Boolean),
        notifyRetryMinMs: this.flags['notify-retry-min'],
        notifyRetryForMs: this.flags['notify-retry-for'],
        logLevel: this.flags['log-level'],
        logStream: process.stderr,
      })
    } catch (error) {
      const err = error as {code?: string; message: string}
      if (err.code === 'EADDRINUSE') throw new CliError(`port ${this.flags.port} on ${this.flags.host} is already in use`, 2, 'usage', 'pick another with --port, or stop what uses it')
      if (err.code === 'EACCES') throw new CliError(`cannot listen on ${this.flags.host}:${this.flags.port}: permission denied`, 2, 'usage', 'use a port above 1023')
      const {StartupError} = await import('../../lib/server/errors.js')
      if (error instanceof StartupError) throw new CliError(error.message, 2, 'usage', error.hint)
      throw error
    }
    const profileWritten = plane.token !== null && (await ensureDefaultProfile({url: plane.url, token: plane.token, ...(plane.caFile && {caFile: plane.caFile})}))
    const result: ServerStartResult = {
      url: plane.url,
      token: plane.tokenSource === 'generated' ? plane.token : null,
      tokenSource: plane.tokenSource,
      dataDir: plane.dataDir,
      database: plane.database,
      profileWritten,
    }
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify(result)}\n`)
    } else {
      const adminToken = {
        generated: `${plane.token} (shown this once: it is kept only as a hash)`,
        given: 'the one given with --token or RELCTL_SERVER_TOKEN',
        file: 'the one in the --token-file',
        'data-dir': "the data dir's token, now kept as a hash",
        stored: 'made at the first start, not shown again (more with: relctl token create)',
      }[plane.tokenSource]
      this.print(
        [
          `relctl control plane listening on ${plane.url}`,
          `  admin token: ${adminToken}`,
          `  data dir:    ${plane.dataDir}`,
          `  database:    ${plane.database}`,
          profileWritten ? '  profile "default" now points here, so relctl commands on this machine need no flags' : `  connect with: relctl login --url ${plane.url}${plane.caFile ? ` --ca-file ${plane.caFile}` : ''}`,
          'Stop with Ctrl+C: running releases get the grace period, queued ones wait for the next start.',
        ].join('\n'),
      )
    }
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        this.note(`received ${signal}; stopping`)
        plane.stop().then(resolve, (error) => {
          this.note(`error while stopping: ${(error as Error).message}`)
          process.exitCode = 1
          resolve()
        })
      }
      process.once('SIGINT', () => stop('SIGINT'))
      process.once('SIGTERM', () => stop('SIGTERM'))
    })
  }
}
