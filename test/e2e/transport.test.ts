// How tokens travel (issue 12): HTTPS with a certificate made here (server start --tls-cert/--tls-key,
// the CLI's --ca-file, RELCTL_CA_FILE and the profile's), the warning for plain HTTP off the loopback,
// and failed authentications throttled per source address (429 with Retry-After, exit 7).
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {must, relctl, startServer, tempDir, waitFor} from './harness.js'

/** A self-signed certificate for 127.0.0.1 and localhost, and its key, made with openssl. */
function selfSigned(): {cert: string; key: string} {
  const dir = tempDir('relctl-e2e-tls-')
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=relctl-e2e',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], {stdio: 'ignore'})
  return {cert, key}
}

describe('HTTPS', () => {
  it('server start --tls-cert --tls-key serves HTTPS; the CLI trusts it through the profile server start wrote, --ca-file or RELCTL_CA_FILE, and says what to do when it does not', async () => {
    const {cert, key} = selfSigned()
    const server = await startServer({args: ['--tls-cert', cert, '--tls-key', key]})
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(server.stderr()).not.toContain('plain HTTP')
    // The default profile of this machine trusts the self-signed certificate.
    expect(JSON.parse(readFileSync(join(server.configDir, 'profiles.json'), 'utf8')).profiles.default).toEqual({url: server.url, token: server.token, caFile: cert})
    expect((await must(['whoami', '--json'])).json()).toMatchObject({name: 'admin', url: server.url})

    // Elsewhere (no profile), the certificate is not trusted until it is given.
    const elsewhere = {env: {RELCTL_CONFIG_DIR: tempDir('relctl-e2e-config-')}}
    const untrusted = await relctl(['whoami'], elsewhere)
    expect(untrusted.code, String(untrusted)).toBe(8)
    expect(untrusted.stderr).toContain(`Error: cannot reach the control plane at ${server.url}: its TLS certificate is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)`)
    expect(untrusted.stderr).toContain('Hint: pass the certificate (or the CA that signed it) with --ca-file, RELCTL_CA_FILE or relctl login --ca-file')
    await must(['whoami', '--ca-file', cert], elsewhere)
    await must(['app', 'list', '-p', 'none', '-e', 'none', '--json'], {env: {...elsewhere.env, RELCTL_CA_FILE: cert}, expected: 9})
    const missing = await relctl(['whoami', '--ca-file', join(tempDir(), 'nope.pem')], elsewhere)
    expect(missing.code, String(missing)).toBe(2)
    expect(missing.stderr).toContain('cannot read the CA file')

    // login keeps the CA file with the profile
    const configDir = tempDir('relctl-e2e-config-')
    const login = await relctl(['login', '--url', server.url, '--token', server.token, '--ca-file', cert, '--profile', 'tls'], {env: {RELCTL_CONFIG_DIR: configDir, RELCTL_URL: undefined, RELCTL_TOKEN: undefined}})
    expect(login.code, String(login)).toBe(0)
    expect(JSON.parse(readFileSync(join(configDir, 'profiles.json'), 'utf8')).profiles.tls).toEqual({url: server.url, token: server.token, caFile: cert})
    await must(['whoami', '--profile', 'tls'], {env: {RELCTL_CONFIG_DIR: configDir, RELCTL_URL: undefined, RELCTL_TOKEN: undefined}})

    // Plain HTTP to the HTTPS port gets nowhere.
    const plain = await relctl(['whoami'], {url: server.url.replace('https:', 'http:')})
    expect(plain.code, String(plain)).toBe(8)
    await server.stop()
  })

  it('refuses a certificate without its key, or a key that is not the certificate\'s (exit 2); warns when serving plain HTTP off the loopback', async () => {
    const {cert} = selfSigned()
    const other = selfSigned()
    const alone = await relctl(['server', 'start', '--port', '0', '--data-dir', tempDir(), '--tls-cert', cert, '--json'], {env: {RELCTL_CONFIG_DIR: tempDir()}})
    expect(alone.code, String(alone)).toBe(2)
    expect(alone.stderr).toContain('--tls-key')
    const mismatch = await relctl(['server', 'start', '--port', '0', '--data-dir', tempDir(), '--tls-cert', cert, '--tls-key', other.key, '--json'], {env: {RELCTL_CONFIG_DIR: tempDir()}})
    expect(mismatch.code, String(mismatch)).toBe(2)
    expect(mismatch.json().error.message).toMatch(/^--tls-cert and --tls-key are not a usable pair: /)

    const open = await startServer({args: ['--host', '0.0.0.0']})
    expect(open.stderr()).toContain('Warning: serving plain HTTP on 0.0.0.0: tokens cross the network in clear text; pass --tls-cert and --tls-key, or put a TLS proxy in front')
    await open.stop()
  })
})

describe('failed authentications are throttled per address', () => {
  it('after 10 wrong tokens the address gets 429 with Retry-After, the right token too, until the bucket drains; the CLI says so with exit 7', async () => {
    const server = await startServer()
    const wrong = async () => fetch(`${server.url}/v1/whoami`, {headers: {authorization: 'Bearer relctl_wrong'}})
    for (let attempt = 1; attempt <= 10; attempt++) expect((await wrong()).status, `attempt ${attempt}`).toBe(401)
    const throttled = await wrong()
    expect(throttled.status).toBe(429)
    const retryAfter = Number(throttled.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(6)
    expect((await throttled.json()).error).toMatchObject({code: 'throttled', message: expect.stringMatching(/^too many failed authentications from 127\.0\.0\.1; try again in \ds$/)})

    // While throttled, not even the right token is looked at: a guesser learns nothing.
    const cli = await relctl(['whoami', '--json'])
    expect(cli.code, String(cli)).toBe(7)
    expect(cli.json()).toMatchObject({exitCode: 7, error: {code: 'throttled'}})
    expect(cli.stderr).toMatch(/Error: too many failed authentications from 127\.0\.0\.1; try again in \ds/)
    expect(cli.stderr).toContain('Hint: check the token: relctl whoami, or relctl login with a current one')
    // /healthz needs no token, so it is never throttled.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)

    await waitFor(async () => (await relctl(['whoami'])).code === 0, {what: 'the throttle to let the address try again'})
    await server.stop()
  })
})
