/** How to reach the CA: the provider's connection settings (`ProvisioningProvider.connection`). */
export interface ConaxClientOptions {
  /** Base URL of the services, e.g. `http://127.0.0.1:8280/ca-server/webservices/caclient`. */
  readonly endpoint: string
  readonly username: string
  readonly password: string
  /** Longest wait for an answer; a call that takes longer is TRANSIENT `TIMEOUT`. */
  readonly timeoutMs: number
  /** The character set requests are sent in (default UTF-8; also ISO-8859-1, US-ASCII, UTF-16). */
  readonly characterSet?: string
}
