// Rendering of tokens and the audit log.
import type {AuditEntry, NewToken, TokenInfo} from '../api/access.js'
import {grantText, scopeText} from '../api/grants.js'
import {table} from './output.js'

export function grantsText(token: Pick<TokenInfo, 'grants'>): string {
  return token.grants.map(grantText).join(', ') || '(none)'
}

/** What a created or rotated token is, for stderr; its secret goes alone to stdout. */
export function newTokenNote(token: NewToken, verb: 'Created' | 'Rotated'): string {
  return `${verb} token ${token.name}: ${grantsText(token)}; expires ${token.expiresAt ?? 'never'}.`
}

export const STORE_IT_NOW = 'Store it now: it is not shown again (the control plane keeps only a hash). Use it with "relctl login --url URL" or RELCTL_TOKEN.'

export function tokensTable(tokens: TokenInfo[]): string {
  return table(tokens, [
    {header: 'name', get: (token) => token.name},
    {header: 'grants', get: (token) => grantsText(token)},
    {header: 'expires', get: (token) => token.expiresAt ?? 'never'},
    {header: 'last used', get: (token) => token.lastUsedAt ?? 'never'},
    {header: 'created', get: (token) => `${token.createdAt} by ${token.createdBy}${token.configured ? ' (given to server start)' : ''}`},
  ])
}

export function auditTable(entries: AuditEntry[]): string {
  return table(entries, [
    {header: 'at', get: (entry) => entry.at},
    {header: 'actor', get: (entry) => entry.actor ?? '(no token)'},
    {header: 'action', get: (entry) => entry.action},
    {header: 'scope', get: (entry) => scopeText(entry)},
    {header: 'target', get: (entry) => entry.target},
    {header: 'outcome', get: (entry) => `${entry.outcome} (${entry.status})`},
    {header: 'from', get: (entry) => entry.address},
    {header: 'detail', get: (entry) => entry.detail},
  ])
}
