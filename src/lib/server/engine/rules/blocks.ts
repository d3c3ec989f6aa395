// Blocked versions, pure: which of a release's resources would take an app to a version blocked in its
// project, and the refusal that names who blocked it and why. Triggers, syncs, rollbacks, retries,
// schedules, `app set` and the start of a queued release all ask the same question here.
import type {BlockedVersion, ReleaseResource} from '../../../api/schemas.js'
import {ControlPlaneError} from '../../errors.js'

/** The blocks that apps would meet if these (app, version) pairs were deployed; deletes deploy nothing. */
export function blocksMet(changes: {name: string; toVersion: string | null; action?: ReleaseResource['action']}[], blocks: BlockedVersion[]): BlockedVersion[] {
  if (blocks.length === 0) return []
  const met: BlockedVersion[] = []
  for (const change of changes) {
    if (change.action === 'delete' || change.toVersion === null) continue
    const block = blocks.find((candidate) => candidate.app === change.name && candidate.version === change.toVersion)
    if (block) met.push(block)
  }
  return met
}

/** "api 3.3.0 is blocked in project shop by alice since ...: memory leak" */
function describeBlock(block: BlockedVersion): string {
  return `${block.app} ${block.version} is blocked in project ${block.project} by ${block.by} since ${block.at}: ${block.reason}`
}

/** The refusal of whatever would deploy a blocked version (exit 2): "<refusal>: api 3.3.0 is blocked in project shop by ...". */
export function blockedVersionError(met: BlockedVersion[], refusal: string): ControlPlaneError {
  const [first] = met
  const more = met.slice(1).map((block) => `; ${describeBlock(block)}`).join('')
  return new ControlPlaneError('blocked_version', `${refusal}: ${describeBlock(first)}${more}`, {
    hint: `choose another version (relctl app set ${first.app} --version V -p ${first.project} -e ENV), or lift the block: relctl app unblock ${first.app} ${first.version} -p ${first.project}`,
  })
}
