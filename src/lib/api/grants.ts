// Grants and scopes in words, the same on both sides: "deployer on shop/staging", "the control plane".
// No dependencies, so the CLI may import it freely.
import type {Role} from './domain.js'

export interface ScopeNames {
  project: string | null
  environment: string | null
}

export function scopeText(scope: ScopeNames): string {
  if (scope.project === null) return 'the control plane'
  return scope.environment === null ? scope.project : `${scope.project}/${scope.environment}`
}

export function grantText(grant: ScopeNames & {role: Role}): string {
  return `${grant.role} on ${scopeText(grant)}`
}

/**
 * A grant as the CLI's --grant takes it: ROLE (the control plane), ROLE:PROJECT or ROLE:PROJECT/ENV.
 * Null when it is not of that form; the control plane checks the names and the role.
 */
export function parseGrant(text: string): (ScopeNames & {role: string}) | null {
  const match = /^([^:/\s]+)(?::([^:/\s]+)(?:\/([^:/\s]+))?)?$/.exec(text.trim())
  if (!match) return null
  return {role: match[1], project: match[2] ?? null, environment: match[3] ?? null}
}
