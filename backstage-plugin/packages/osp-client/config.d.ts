export interface Config {
  /** Open Service Portal settings. */
  osp?: {
    /** How Backstage reaches the osp sidecar (gRPC over HTTP/2). */
    sidecar?: {
      /**
       * Address of the sidecar: `host:port` (plain HTTP/2, the sidecar
       * listens on loopback next to Backstage) or an `http://` / `https://`
       * URL. Defaults to `127.0.0.1:50051`.
       */
      address?: string;
      /**
       * Bearer token the sidecar expects (its `--token-file` / `OSP_TOKEN`).
       * Prefer `tokenFile` so the token never sits in config.
       * @visibility secret
       */
      token?: string;
      /**
       * File holding the bearer token; read on every call, so a rotated
       * token is picked up without a restart. Ignored when `token` is set.
       */
      tokenFile?: string;
      /**
       * Deadline of a call in milliseconds, retries included. Defaults to
       * 10000.
       */
      timeoutMs?: number;
      /** Retries of calls the sidecar answers with UNAVAILABLE. */
      retry?: {
        /** Attempts per call, the first included. Defaults to 4. */
        maxAttempts?: number;
        /**
         * Delay before the first retry in milliseconds; it doubles on each
         * further retry. Defaults to 200.
         */
        backoffMs?: number;
      };
    };
  };
}
