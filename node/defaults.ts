/** Defaults of the long-running commands, kept apart so that help loads fast. */

/** Where a relay listens when no `--listen` is given. */
export const DEFAULT_RELAY_LISTEN = ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws', '/ip4/0.0.0.0/udp/4003/webrtc-direct']
/** Where the daemon listens for peers when no `--listen` is given. */
export const DEFAULT_DAEMON_LISTEN = ['/ip4/0.0.0.0/tcp/0']
/** Where the API listens when no `--api` is given (port 0: any free port). */
export const DEFAULT_API = { host: '127.0.0.1', port: 0 }
