// BaseCommand owns --json, parsed flags and args, and error handling with the documented exit codes.
// ApiCommand adds the connection and scope flags and the lazily built client.
import {readFileSync} from 'node:fs'

import {Command} from '@oclif/core/command'
import type {Interfaces} from '@oclif/core'

import {EXIT} from '../api/domain.js'
import type {ControlPlaneClient} from '../client/client.js'
import {CliError} from '../client/errors.js'
import {connectionFlags, scopeFlags} from './flags.js'
import {InterruptedError} from './interrupt.js'
import {DEFAULT_URL, readProfile} from './profiles.js'
import {usageMessage} from './suggest.js'
import {printableLines} from './terminal-text.js'

export type Flags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type Args<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

interface ErrorLike {
  message?: string
  exitCode?: number
  code?: string
  hint?: string
  data?: unknown
  stack?: string
  oclif?: {exit?: number}
}

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static enableJsonFlag = true
  /** --json prints one JSON value a line as it goes (relctl watch): an error is one more line, not a pretty block */
  static jsonLines = false

  protected flags!: Flags<T>
  protected args!: Args<T>

  public override async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as Flags<T>
    this.args = args as Args<T>
  }

  /**
   * Writes data for people on stdout, control characters escaped; silent under --json, where run()'s
   * result is printed instead.
   */
  protected print(text: string) {
    if (!this.jsonEnabled()) process.stdout.write(`${printableLines(text)}\n`)
  }

  /** Progress and warnings go to stderr, in JSON mode too, control characters escaped. */
  protected note(text: string) {
    process.stderr.write(`${printableLines(text)}\n`)
  }

  // oclif's JSON mode drops custom exit codes (oclif/core#1423): set process.exitCode here ourselves.
  public override async catch(error: Error & ErrorLike): Promise<void> {
    if (error.code === 'EEXIT') {
      process.exitCode = error.oclif?.exit ?? 0
      return
    }
    // Anything that fails before oclif has parsed the arguments and flags is a usage error (exit 2).
    const {oclif} = error as ErrorLike
    const usage = !this.parsed && !(error instanceof CliError)
    const exitCode = usage ? EXIT.usage : (oclif?.exit ?? error.exitCode ?? EXIT.unexpected)
    process.exitCode = exitCode
    const known = usage || error instanceof CliError || oclif !== undefined
    const raw = error.message || String(error)
    const message = usage && oclif ? usageMessage(raw, Object.keys(this.ctor.flags ?? {}).concat(Object.keys(this.ctor.baseFlags ?? {}))) : raw
    if (this.jsonEnabled()) {
      const isApiError = error instanceof CliError && 'status' in error
      const extra = !isApiError && error.data && typeof error.data === 'object' ? error.data : {}
      const apiBody = isApiError && error.data && typeof error.data === 'object' ? error.data : {}
      const body = {
        error: {...apiBody, code: usage || oclif ? 'usage' : (error.code ?? 'unexpected'), message, ...(error.hint && {hint: error.hint})},
        exitCode,
        ...extra,
      }
      if ((this.ctor as typeof BaseCommand).jsonLines) process.stdout.write(`${JSON.stringify(body)}\n`)
      else this.logJson(body)
    }
    // stderr reads the same with --json: a CI log shows the error (and a failed release's tasks and
    // logs) while stdout stays one JSON value.
    const {colors} = await import('./output.js')
    const chalk = await colors()
    process.stderr.write(`${chalk.red('Error:')} ${printableLines(message)}\n`)
    if (error.hint) process.stderr.write(`${chalk.dim('Hint:')} ${printableLines(error.hint)}\n`)
    else if (usage) process.stderr.write(`${chalk.dim('Hint:')} see relctl ${this.id?.replaceAll(':', ' ') ?? ''} --help\n`)
    if (!known) {
      if (process.env.DEBUG) process.stderr.write(`${error.stack}\n`)
      else process.stderr.write('This is unexpected; run again with DEBUG=1 for details, and report it.\n')
    }
    // The abandoned wait may still hold a timer or a request: leave now, as the signal asked.
    if (error instanceof InterruptedError) process.exit(exitCode)
  }
}

export abstract class ApiCommand<T extends typeof Command> extends BaseCommand<T> {
  static override baseFlags = {...connectionFlags, ...scopeFlags}

  private clientInstance: ControlPlaneClient | undefined

  protected get apiFlags() {
    return this.flags as unknown as {url?: string; token?: string; profile: string; 'ca-file'?: string; project?: string; environment?: string}
  }

  /** The control plane's URL as given (--url, RELCTL_URL); undefined: the profile's. */
  protected controlPlaneUrl(): string | undefined {
    return this.apiFlags.url
  }

  protected async client(): Promise<ControlPlaneClient> {
    if (!this.clientInstance) {
      const {token, profile: profileName, 'ca-file': caFile} = this.apiFlags
      const url = this.controlPlaneUrl()
      const profile = await readProfile(profileName)
      if (profileName !== 'default' && !profile && !url) {
        throw new CliError(`profile "${profileName}" does not exist`, EXIT.usage, 'usage', `create it with: relctl login --url <url> --token <token> --profile ${profileName}`)
      }
      const {ControlPlaneClient} = await import('../client/client.js')
      const ca = caFile ?? profile?.caFile
      this.clientInstance = new ControlPlaneClient({url: url ?? profile?.url ?? DEFAULT_URL, token: token ?? profile?.token, ...(ca && {ca: readCaFile(ca)})})
    }
    return this.clientInstance
  }

  /** The project, which every scoped command needs. */
  protected project(): string {
    const {project} = this.apiFlags
    if (!project) throw new CliError('no project given', EXIT.usage, 'usage', 'pass --project NAME (-p) or set RELCTL_PROJECT')
    return project
  }

  protected scope(): {project: string; environment: string} {
    const project = this.project()
    const {environment} = this.apiFlags
    if (!environment) throw new CliError('no environment given', EXIT.usage, 'usage', 'pass --environment NAME (-e) or set RELCTL_ENVIRONMENT')
    return {project, environment}
  }

  public override async finally(error: Error | undefined): Promise<void> {
    await this.clientInstance?.close()
    return super.finally(error)
  }
}

/** The PEM certificates of --ca-file (RELCTL_CA_FILE, a profile's caFile). */
export function readCaFile(file: string): Buffer {
  try {
    return readFileSync(file)
  } catch (error) {
    throw new CliError(`cannot read the CA file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, EXIT.usage, 'usage', 'pass a readable PEM file with --ca-file or RELCTL_CA_FILE')
  }
}
