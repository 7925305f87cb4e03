/**
 * A conax-sim tenant's name, what `/t/<name>/` may carry: the simulator serves tenants under it, and
 * the harness and the adapter check a `--tenant` against it before building a URL.
 */
export const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

/** What a tenant name may be, for error messages. */
export const TENANT_NAME_RULE =
  "1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit"
