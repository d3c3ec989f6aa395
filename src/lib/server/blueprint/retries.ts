// Retries in the blueprint: `retries: { attempts: 3, backoff: 10s, maxBackoff: 5m }` on a resource (its
// deploy, health check and destroy) or under an environment's `hooks` (the target hooks, which are not
// retried otherwise). A failed attempt is tried again after the backoff, doubled each time up to maxBackoff.
import {isMap, isScalar, type Node, type YAMLMap} from 'yaml'

import {MAX_ATTEMPTS} from '../../api/domain.js'
import {checkKeys, readDuration, readDurationText, type Report} from './yaml-read.js'

export interface RetryPolicy {
  /** how many attempts in all, the first included (1 to MAX_ATTEMPTS) */
  attempts: number
  /** the wait before the second attempt; doubled before each one after */
  backoffMs: number
  /** the longest wait between two attempts */
  maxBackoffMs: number
}

const RETRY_KEYS = ['attempts', 'backoff', 'maxBackoff']
export const DEFAULT_BACKOFF_MS = 10_000
export const DEFAULT_MAX_BACKOFF_MS = 5 * 60_000

/** The `retries` of a resource or of an environment's hooks; null when it has none. */
export function readRetries(parent: YAMLMap, path: string, problem: Report): RetryPolicy | null {
  const node = parent.get('retries', true) as Node | undefined
  if (node === undefined || (isScalar(node) && node.value === null)) return null
  const here = `${path}.retries`
  if (!isMap(node)) {
    problem(here, 'retries is a mapping such as "{ attempts: 3, backoff: 10s }"', node)
    return null
  }
  checkKeys(node, here, RETRY_KEYS, problem)
  const attemptsNode = node.get('attempts', true) as Node | undefined
  let attempts = 0
  if (attemptsNode === undefined) problem(`${here}.attempts`, `missing: how many attempts in all (the first included), 1 to ${MAX_ATTEMPTS}, e.g. "attempts: 3"`, node)
  else if (!isScalar(attemptsNode) || typeof attemptsNode.value !== 'number' || !Number.isInteger(attemptsNode.value) || attemptsNode.value < 1 || attemptsNode.value > MAX_ATTEMPTS) {
    problem(`${here}.attempts`, `must be a whole number from 1 to ${MAX_ATTEMPTS} (the first attempt included)`, attemptsNode)
  } else attempts = attemptsNode.value
  const duration = (key: string, fallback: number) => {
    const text = readDurationText(node, key, here, problem)
    return text === null ? fallback : (readDuration(text, `${here}.${key}`, node.get(key, true) as Node, problem) ?? fallback)
  }
  const backoffMs = duration('backoff', DEFAULT_BACKOFF_MS)
  const maxBackoffMs = duration('maxBackoff', Math.max(DEFAULT_MAX_BACKOFF_MS, backoffMs))
  if (maxBackoffMs < backoffMs) problem(`${here}.maxBackoff`, 'must be at least as long as backoff', node.get('maxBackoff', true) as Node)
  return attempts > 0 ? {attempts, backoffMs, maxBackoffMs} : null
}

/** The wait before attempt `next` (2 for the first retry): the backoff doubled for each retry before it, at most maxBackoff. */
export function backoffBefore(policy: Pick<RetryPolicy, 'backoffMs' | 'maxBackoffMs'>, next: number): number {
  return Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, next - 2))
}
