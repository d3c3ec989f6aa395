// Who may do what, stated once. Pure: a token's grants (role × scope), the permission a request needs
// and the scope it acts on give allowed or not, and the words of a refusal.
import {ROLES, type Role} from '../../api/domain.js'
import type {Grant} from '../../api/access.js'
import {grantText, scopeText} from '../../api/grants.js'

/** What a request may need. Each route declares one (http/access-rules.ts). */
export const PERMISSIONS = ['read', 'deploy', 'approve', 'operate', 'admin'] as const
export type Permission = (typeof PERMISSIONS)[number]

/**
 * The role table (docs/security.md shows it):
 * - read: releases, logs, apps, settings, schedules, pauses;
 * - deploy: trigger, sync, rollback, cancel, app set;
 * - approve: approve and reject releases;
 * - operate: pause, resume, schedules, settings;
 * - admin: project apply (code execution on the control plane), tokens, the audit log.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  viewer: ['read'],
  deployer: ['read', 'deploy'],
  approver: ['read', 'approve'],
  operator: ['read', 'deploy', 'operate'],
  admin: ['read', 'deploy', 'approve', 'operate', 'admin'],
}

/** Where a request acts, or a grant applies: the control plane (both null), a project, or one environment. */
export interface Scope {
  project: string | null
  environment: string | null
}

export const CONTROL_PLANE: Scope = Object.freeze({project: null, environment: null})

/** The grant's scope holds the whole of the request's: the same, or wider. */
export function covers(grant: Scope, scope: Scope): boolean {
  if (grant.project === null) return true
  if (grant.project !== scope.project) return false
  return grant.environment === null || grant.environment === scope.environment
}

/** The grant's scope holds the request's, or lies inside it: something of the scope is the grant's to see. */
export function reaches(grant: Scope, scope: Scope): boolean {
  return covers(grant, scope) || covers(scope, grant)
}

export function roleAllows(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission)
}

/**
 * Whether grants allow a permission in a scope. `within`: a grant that lies inside the scope is enough
 * (a listing, which then shows only what the grants cover).
 */
export function allows(grants: readonly Grant[], permission: Permission, scope: Scope, within = false): boolean {
  return grants.some((grant) => roleAllows(grant.role, permission) && (within ? reaches(grant, scope) : covers(grant, scope)))
}

/** The least role that has the permission: the one a refusal names. */
export function leastRole(permission: Permission): Role {
  return ROLES.find((role) => roleAllows(role, permission)) as Role
}

/**
 * A refusal in words: "token ci-shop (deployer on shop/staging) may not approve releases; an approver of
 * shop/prod can".
 */
export function refusal(name: string, grants: readonly Grant[], does: string, permission: Permission, scope: Scope): {message: string; hint: string} {
  const role = leastRole(permission)
  const article = /^[aeiou]/.test(role) ? 'an' : 'a'
  const held = grants.length > 0 ? grants.map(grantText).join(', ') : 'no grants'
  const flags = scope.project === null ? '' : ` --project ${scope.project}${scope.environment === null ? '' : ` --environment ${scope.environment}`}`
  return {
    message: `token ${name} (${held}) may not ${does}; ${article} ${role} of ${scopeText(scope)} can`,
    hint: `use a token with that grant, or ask an admin for one: relctl token create --name NAME --role ${role}${flags}`,
  }
}
