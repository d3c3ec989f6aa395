// What the benches share about the control plane they start.
import {createInterface} from 'node:readline'

/**
 * Resolves with what `server start --json` prints once it listens ({url, token, …}). Rejects with the
 * server's output when it ends first, e.g. on a flag it refuses (its error is JSON over several lines).
 */
export function whenListening(server, name = 'the control plane') {
  return new Promise((resolve, reject) => {
    const lines = []
    createInterface({input: server.stdout}).on('line', (line) => {
      lines.push(line)
      try {
        const started = JSON.parse(line)
        if (typeof started?.url === 'string') resolve(started)
      } catch {
        // part of an error message over several lines
      }
    })
    // 'close' comes after the output has been read: the error message is whole.
    server.once('close', (code, signal) => {
      reject(new Error(`${name} ended (${signal ?? `exit code ${code}`}) before it listened${lines.length > 0 ? `:\n${lines.join('\n')}` : ''}`))
    })
  })
}

/** Sends SIGTERM to a control plane that still runs and resolves once it has exited. */
export function stopServer(server) {
  if (!server || server.exitCode !== null || server.signalCode !== null) return Promise.resolve()
  const exited = new Promise((resolve) => server.once('exit', resolve))
  server.kill('SIGTERM')
  return exited
}

/** A JSON call to a control plane with its token; throws with the answer on a status that is not 2xx. */
export function apiOf(url, token) {
  return async function api(method, path, body) {
    const response = await fetch(`${url}${path}`, {method, headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'}, body: body === undefined ? undefined : JSON.stringify(body)})
    const data = await response.json()
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(data)}`)
    return data
  }
}
