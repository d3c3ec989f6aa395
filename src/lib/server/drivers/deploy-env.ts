// What a deploy inherits from the control plane's environment: a fixed set of basics, the variables the
// server was started with --pass-env, and those the resource's exec.passEnv names. Nothing else: the
// server's token, credentials and whatever else it runs with stay out of deploys. The RELCTL_* task
// variables are added on top by the exec driver.
import {SECRET_VARIABLES} from '../blueprint/variable-names.js'
import type {TaskContext} from './driver.js'

/** Passed when the server has them, so that shells, tools and locales behave as in a login session. */
export const BASIC_VARIABLES: readonly string[] = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR', 'LANG', 'LANGUAGE', 'TZ']
const BASIC_PREFIX = 'LC_'

export function deployEnvironment(ctx: Pick<TaskContext, 'passEnv' | 'resource'>, source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const named = new Set([...BASIC_VARIABLES, ...ctx.passEnv, ...(ctx.resource.exec?.passEnv ?? [])])
  const environment: Record<string, string> = {}
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || SECRET_VARIABLES.includes(name)) continue
    if (named.has(name) || name.startsWith(BASIC_PREFIX)) environment[name] = value
  }
  return environment
}
