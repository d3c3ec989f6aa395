import type {Replica} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {ago, table} from '../../lib/cli/output.js'

export default class ServerStatus extends ApiCommand<typeof ServerStatus> {
  static summary = 'Show the control-plane replicas that are alive, their leases and the releases each runs.'

  static description = `Every replica serving the same database is listed; the one that answered is marked with *. A replica
whose lease expires without a heartbeat is considered gone: any other replica then fails the
releases it ran ("replica X stopped answering") and admits what waited behind them.`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --url http://relctl.internal:7420 --json',
  ]

  async run(): Promise<Replica[]> {
    const replicas = await (await this.client()).listReplicas()
    const now = Date.now()
    this.print(
      table(replicas, [
        {header: 'replica', get: (replica) => `${replica.id}${replica.self ? ' *' : ''}`},
        {header: 'host', get: (replica) => `${replica.host} (pid ${replica.pid})`},
        {header: 'state', get: (replica) => (replica.stopping ? 'stopping' : 'serving')},
        {header: 'heartbeat', get: (replica) => ago(replica.heartbeatAt, now)},
        {header: 'lease until', get: (replica) => replica.leaseExpiresAt},
        {header: 'runs', get: (replica) => `${replica.runs.length}/${replica.capacity}`},
        {header: 'releases', get: (replica) => replica.runs.map((run) => `${run.releaseId} ${run.project}/${run.environment}`).join(', ')},
      ]),
    )
    return replicas
  }
}
