// Where notifications may go. A target is an http(s) URL; its host must not resolve to a private,
// loopback, link-local or otherwise internal address (a subscription must not turn the control plane into
// a way to reach the network behind it), except the networks the operator allows: by default 127.0.0.1
// alone, so that a laptop and the tests can receive their own notifications. The check runs when a
// subscription is made and again on every connection, so a name that later resolves inward is refused too.
import type {LookupAddress, LookupOptions} from 'node:dns'
import {lookup} from 'node:dns/promises'
import {BlockList, isIP} from 'node:net'

import {invalid} from '../errors.js'

/** The networks no notification goes to unless allowed (RFC 6890 special-purpose and private ranges). */
const INTERNAL_NETWORKS: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
]

/** A CIDR ("10.0.0.0/8", "::1/128") or an address (a /32 or /128), checked; throws with what is wrong. */
export function parseNetwork(text: string): {address: string; prefix: number; family: 'ipv4' | 'ipv6'} {
  const [address, prefixText] = text.trim().split('/')
  const version = isIP(address)
  if (version === 0) throw new Error(`"${text}" is not an address or a network such as 10.0.0.0/8`)
  const family = version === 4 ? 'ipv4' : 'ipv6'
  const max = version === 4 ? 32 : 128
  const prefix = prefixText === undefined ? max : Number(prefixText)
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) throw new Error(`"${text}": the prefix length must be 0 to ${max}`)
  return {address, prefix, family}
}

export class AddressPolicy {
  private readonly internal = new BlockList()
  private readonly allowed = new BlockList()

  constructor(readonly allowedNetworks: readonly string[]) {
    for (const [address, prefix, family] of INTERNAL_NETWORKS) this.internal.addSubnet(address, prefix, family)
    for (const network of allowedNetworks) {
      const {address, prefix, family} = parseNetwork(network)
      this.allowed.addSubnet(address, prefix, family)
    }
  }

  /** Why an address may not be a target, or null when it may. */
  refusal(address: string): string | null {
    // An IPv4 address in IPv6 clothing (::ffff:10.0.0.1) is judged as the IPv4 address it is.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
    const plain = mapped ? mapped[1] : address
    const family = isIP(plain) === 4 ? 'ipv4' : 'ipv6'
    if (this.allowed.check(plain, family)) return null
    if (this.internal.check(plain, family)) {
      return `it resolves to ${plain}, an internal address; notifications go to public addresses unless server start --notify-allow-network allows that network`
    }
    return null
  }

  /** dns.lookup for connections: fails the connection when the name resolves to a refused address. */
  readonly lookup = (hostname: string, options: LookupOptions, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    lookup(hostname, {...options, all: true, verbatim: true}).then(
      (addresses) => {
        const refused = addresses.map((entry) => this.refusal(entry.address)).find((reason) => reason !== null)
        if (refused) return callback(Object.assign(new Error(`refused: ${refused}`), {code: 'ERELCTL_ADDRESS'}), '')
        if (options.all) return callback(null, addresses)
        callback(null, addresses[0].address, addresses[0].family)
      },
      (error) => callback(error, ''),
    )
  }

  /** Refuses (422) a target whose host resolves to a refused address, or does not resolve. */
  async check(url: URL): Promise<void> {
    const host = url.hostname.replace(/^\[|\]$/g, '')
    let addresses: {address: string}[]
    try {
      addresses = isIP(host) ? [{address: host}] : await lookup(host, {all: true, verbatim: true})
    } catch {
      throw invalid(`the target host ${host} does not resolve`, 'check the URL')
    }
    for (const {address} of addresses) {
      const refused = this.refusal(address)
      if (refused) throw invalid(`the target ${url.origin} is refused: ${refused}`)
    }
  }
}

/** A target URL as given: http(s) only, no credentials in it; Slack's incoming webhooks are https. */
export function parseTarget(kind: 'webhook' | 'slack', text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw invalid(`"${text.slice(0, 200)}" is not a URL`, kind === 'slack' ? 'give the incoming webhook URL Slack shows, https://hooks.slack.com/services/…' : 'give an http:// or https:// URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(`a notification target must be http:// or https://, not ${url.protocol}//`)
  if (kind === 'slack' && url.protocol !== 'https:') throw invalid('a Slack webhook URL starts with https://')
  if (url.username || url.password) throw invalid('the target URL holds a user name or password', 'sign deliveries with the secret instead (webhooks are signed)')
  return url
}

/** What people are shown of a target: the origin and path, with the secret parts hidden (Slack's path is its key; a query may hold a token). */
export function shownTarget(kind: 'webhook' | 'slack', text: string): string {
  const url = new URL(text)
  if (kind === 'slack') return `${url.origin}/${url.pathname.split('/').filter(Boolean).slice(0, 2).join('/')}/…`
  return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`
}
