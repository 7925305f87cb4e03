import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Journal, JournalEntry, JournalQuery } from '../runtime/journal.js'
import { SimulatorError } from '../runtime/simulator-error.js'

/**
 * `GET /admin/journal/stream`: the journal as server-sent events (`text/event-stream`) for
 * consoles. The entries after `after` (or the `Last-Event-ID` a reconnecting EventSource sends)
 * first, read as pages, then each entry as it becomes durable; every event is
 * `id: <seq>` + `data: <entry as JSON>`. A comment line every `heartbeatMs` keeps proxies from
 * closing an idle stream. At most `limit` streams at once (503 TOO_MANY_STREAMS beyond); a client
 * that reads too slowly is sent an `error` event and closed, and reconnects from its last id.
 */

const BACKLOG_PAGE = 1000
/** Unsent bytes a stream may hold before its client counts as too slow. */
const MAX_BUFFERED = 8 * 1024 * 1024

interface Client {
  readonly res: ServerResponse
  /** Every durable entry up to this seq has been considered (sent, or filtered out). */
  covered: number
  /** Entries made durable while the backlog is read; null once live. */
  waiting: JournalEntry[] | null
  readonly stop: () => void
}

/** The event streams of one simulator. */
export class JournalStreams {
  private readonly clients = new Set<Client>()
  private readonly journal: Journal
  private readonly limit: number
  private readonly heartbeatMs: number

  constructor(journal: Journal, options: { readonly limit: number; readonly heartbeatMs: number }) {
    this.journal = journal
    this.limit = options.limit
    this.heartbeatMs = options.heartbeatMs
  }

  /** Streams open now. */
  count(): number {
    return this.clients.size
  }

  /**
   * Starts a stream for a request whose query was read (`after`, `operation`, `service`). Throws
   * TOO_MANY_STREAMS (before anything is sent) when `limit` streams are open.
   */
  open(req: IncomingMessage, res: ServerResponse, query: JournalQuery): void {
    if (this.clients.size >= this.limit) {
      throw new SimulatorError(
        'TOO_MANY_STREAMS',
        `${this.clients.size} clients already follow the journal, the most this simulator serves at once (journalStreamLimit). Close another stream, or page with GET /admin/journal?after=<seq>.`,
      )
    }
    const after = lastEventId(req) ?? query.after ?? query.since ?? 0
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
      'X-Journal-Last-Seq': String(this.journal.lastSeq()),
    })
    res.write(`retry: 1000\n: conax-sim journal after ${after}\n\n`)
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), this.heartbeatMs)
    heartbeat.unref()
    let unsubscribe = (): void => undefined
    const client: Client = {
      res,
      covered: after,
      waiting: [],
      stop: () => {
        clearInterval(heartbeat)
        unsubscribe()
        this.clients.delete(client)
      },
    }
    this.clients.add(client)
    unsubscribe = this.journal.subscribe((entries) => {
      if (client.waiting) {
        client.waiting.push(...entries)
      } else {
        this.send(client, entries, query)
      }
    })
    res.on('close', client.stop)
    void this.backlog(client, query)
  }

  /** Ends every stream (the simulator is closing). */
  close(): void {
    for (const client of [...this.clients]) {
      client.stop()
      client.res.end()
    }
  }

  private async backlog(client: Client, query: JournalQuery): Promise<void> {
    try {
      for (;;) {
        const page = await this.journal.page(
          { ...query, after: client.covered, since: undefined, limit: BACKLOG_PAGE },
          true,
        )
        if (!this.clients.has(client)) {
          return
        }
        this.send(client, page.entries, query)
        client.covered = Math.max(client.covered, page.through)
        if (page.entries.length < BACKLOG_PAGE) {
          break
        }
      }
      const waiting = client.waiting ?? []
      client.waiting = null
      this.send(client, waiting, query)
    } catch (error) {
      const coded =
        error instanceof SimulatorError
          ? error
          : new SimulatorError('INTERNAL', `Internal simulator error: ${String(error)}`)
      client.res.end(`event: error\ndata: ${JSON.stringify({ error: coded.toJSON() })}\n\n`)
      client.stop()
    }
  }

  /** Writes the entries after what the client has seen that match its query. */
  private send(client: Client, entries: readonly JournalEntry[], query: JournalQuery): void {
    if (!this.clients.has(client)) {
      return
    }
    let text = ''
    for (const entry of entries) {
      if (entry.seq <= client.covered) {
        continue
      }
      client.covered = entry.seq
      if (
        (query.operation === undefined || entry.operation === query.operation) &&
        (query.service === undefined || entry.service === query.service)
      ) {
        text += `id: ${entry.seq}\ndata: ${JSON.stringify(this.journal.view(entry))}\n\n`
      }
    }
    if (text === '') {
      return
    }
    client.res.write(text)
    if (client.res.writableLength > MAX_BUFFERED) {
      const error = new SimulatorError(
        'STREAM_TOO_SLOW',
        `This stream's client reads more slowly than the journal grows (${client.res.writableLength} bytes unsent); it was closed. Reconnect with Last-Event-ID ${client.covered} to go on.`,
      )
      client.res.end(`event: error\ndata: ${JSON.stringify({ error: error.toJSON() })}\n\n`)
      client.stop()
    }
  }
}

/** The id a reconnecting EventSource sends: the seq of the last event it received. */
function lastEventId(req: IncomingMessage): number | undefined {
  const header = req.headers['last-event-id']
  if (header === undefined) {
    return undefined
  }
  const value = Number(header)
  if (typeof header !== 'string' || !/^\d+$/.test(header.trim()) || !Number.isSafeInteger(value)) {
    throw new SimulatorError(
      'INVALID_REQUEST',
      `Header Last-Event-ID must be a journal seq (a whole number), not ${JSON.stringify(header)}.`,
    )
  }
  return value
}
