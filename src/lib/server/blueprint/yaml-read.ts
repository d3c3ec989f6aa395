// Reading YAML nodes of a blueprint: each reader returns the value, or reports a problem with the node's
// place (line and column) and what to write instead, and returns nothing.
import {isScalar, isSeq, type Node, type YAMLMap} from 'yaml'

import {DurationError, parseDuration} from '../../api/duration.js'

export type Report = (path: string, message: string, node?: Node | null) => void

export function checkKeys(node: YAMLMap, path: string, allowed: string[], problem: Report) {
  for (const pair of node.items) {
    const key = scalarString(pair.key as Node)
    if (key !== null && !allowed.includes(key)) {
      const suggestion = closest(key, allowed)
      problem(
        path ? `${path}.${key}` : key,
        `unknown key "${key}"${suggestion ? `; did you mean "${suggestion}"?` : ''} (allowed here: ${allowed.join(', ')})`,
        pair.key as Node,
      )
    }
  }
}

function closest(word: string, candidates: string[]): string | null {
  let best: string | null = null
  let bestDistance = 3
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  const row = Array.from({length: b.length + 1}, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1))
      previous = current
    }
  }
  return row[b.length]
}

export function scalarString(node: Node | null | undefined): string | null {
  if (!isScalar(node) || node.value === null || typeof node.value === 'object') return null
  return String(node.value)
}

export function readString(node: YAMLMap, key: string, path: string, problem: Report): string | null {
  const value = node.get(key, true) as Node | undefined
  if (value === undefined || (isScalar(value) && value.value === null)) return null
  if (!isScalar(value) || typeof value.value !== 'string') {
    problem(`${path ? `${path}.` : ''}${key}`, 'must be a string', value)
    return null
  }
  return value.value
}

export function readStringList(node: YAMLMap, key: string, path: string, problem: Report): string[] {
  const value = node.get(key, true) as Node | undefined
  if (value === undefined || (isScalar(value) && value.value === null)) return []
  if (!isSeq(value)) {
    problem(`${path}.${key}`, `must be a list, e.g. ${key}: [a, b]`, value)
    return []
  }
  const items: string[] = []
  value.items.forEach((item, index) => {
    const text = scalarString(item as Node)
    if (text === null) problem(`${path}.${key}[${index}]`, 'must be a string', item as Node)
    else items.push(text)
  })
  return items
}

export function readDurationText(node: YAMLMap, key: string, path: string, problem: Report): string | null {
  const value = node.get(key, true) as Node | undefined
  if (value === undefined || (isScalar(value) && value.value === null)) return null
  if (!isScalar(value) || (typeof value.value !== 'string' && typeof value.value !== 'number')) {
    problem(`${path}.${key}`, 'must be a duration such as 30s, 15m or 1h', value)
    return null
  }
  return String(value.value)
}

export function readDuration(text: string, path: string, node: Node, problem: Report): number | null {
  try {
    return parseDuration(text)
  } catch (error) {
    if (error instanceof DurationError) {
      problem(path, error.message, node)
      return null
    }
    throw error
  }
}
