import { InvalidArgumentError, Option, type Command } from 'commander'
import type { HttpServerSettings } from './http-server.js'

/** The command-line options both servers share: allowed hosts and origins, connection cap and timeouts. */

/** Parsed values of {@link addHttpOptions}' options. */
export interface HttpCliOptions {
  allowedHosts?: string[]
  allowedOrigins?: string[]
  maxConnections?: number
  headersTimeout?: number
  requestTimeout?: number
  keepAliveTimeout?: number
  idleTimeout?: number
}

function list(value: string): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0)
  if (items.length === 0) {
    throw new InvalidArgumentError('must name at least one entry (comma-separated).')
  }
  return items
}

function positive(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
      throw new InvalidArgumentError(`${name} must be a positive integer.`)
    }
    return Number(value)
  }
}

/** Adds --allowed-hosts, --allowed-origins, --max-connections and the timeouts, documented with their defaults. */
export function addHttpOptions(command: Command, defaults: HttpServerSettings): Command {
  return command
    .addOption(
      new Option(
        '--allowed-hosts <list>',
        'Host header names accepted besides localhost/127.0.0.1/[::1] (a proxy or container name; name or name:port, comma-separated)',
      ).argParser(list),
    )
    .addOption(
      new Option(
        '--allowed-origins <list>',
        'exact origins (https://tool.example) allowed to call cross-origin, with CORS answers; none by default',
      ).argParser(list),
    )
    .addOption(
      new Option(
        '--max-connections <n>',
        `open connections at most; one more evicts the connection idle the longest (default ${defaults.maxConnections})`,
      ).argParser(positive('--max-connections')),
    )
    .addOption(
      new Option(
        '--headers-timeout <ms>',
        `time to send the request headers (default ${defaults.headersTimeoutMs})`,
      ).argParser(positive('--headers-timeout')),
    )
    .addOption(
      new Option(
        '--request-timeout <ms>',
        `time to send a whole request (default ${defaults.requestTimeoutMs})`,
      ).argParser(positive('--request-timeout')),
    )
    .addOption(
      new Option(
        '--keep-alive-timeout <ms>',
        `time an idle keep-alive connection stays open (default ${defaults.keepAliveTimeoutMs})`,
      ).argParser(positive('--keep-alive-timeout')),
    )
    .addOption(
      new Option(
        '--idle-timeout <ms>',
        `time a new connection may stay open without sending a request (default ${defaults.idleTimeoutMs})`,
      ).argParser(positive('--idle-timeout')),
    )
}

/** The connection settings the options give (only those set). */
export function httpSettingsOf(cli: HttpCliOptions): Partial<HttpServerSettings> {
  return {
    ...(cli.maxConnections === undefined ? {} : { maxConnections: cli.maxConnections }),
    ...(cli.headersTimeout === undefined ? {} : { headersTimeoutMs: cli.headersTimeout }),
    ...(cli.requestTimeout === undefined ? {} : { requestTimeoutMs: cli.requestTimeout }),
    ...(cli.keepAliveTimeout === undefined ? {} : { keepAliveTimeoutMs: cli.keepAliveTimeout }),
    ...(cli.idleTimeout === undefined ? {} : { idleTimeoutMs: cli.idleTimeout }),
  }
}

/** The guard's host and origin lists the options give (only those set). */
export function guardListsOf(cli: HttpCliOptions): {
  allowedHosts?: string[]
  allowedOrigins?: string[]
} {
  return {
    ...(cli.allowedHosts ? { allowedHosts: cli.allowedHosts } : {}),
    ...(cli.allowedOrigins ? { allowedOrigins: cli.allowedOrigins } : {}),
  }
}
