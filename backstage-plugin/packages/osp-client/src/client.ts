import { createClient, type CallOptions, type Client, type Transport } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import type { DescService } from '@bufbuild/protobuf';
import { CatalogService } from './gen/osp/v1/catalog_pb';
import { ClaimService } from './gen/osp/v1/claims_pb';
import { PublishService } from './gen/osp/v1/publish_pb';
import { TemplateService } from './gen/osp/v1/templates_pb';
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from './gen/grpc/health/v1/health_pb';
import { toBackstageError } from './errors';
import { bearerToken, retryUnavailable, traceContext } from './interceptors';
import { baseUrlOf, type OspClientOptions } from './options';

/**
 * The sidecar's services. Every unary call has a deadline, is retried on
 * UNAVAILABLE, carries the bearer token and the trace context, and fails
 * with a Backstage error (`InputError` with field violations, …).
 *
 * Streaming calls (`catalog.watchChanges`) are long-lived: they get no
 * deadline unless the caller passes `timeoutMs`, are not retried (the
 * caller reconnects, from the last revision it saw), and end when the
 * caller's `signal` aborts. Their errors are Backstage errors too.
 */
export interface OspClient {
  templates: Client<typeof TemplateService>;
  claims: Client<typeof ClaimService>;
  publish: Client<typeof PublishService>;
  catalog: Client<typeof CatalogService>;
  /** True when the sidecar reports SERVING (false on any failure). */
  ready(): Promise<boolean>;
}

/** Creates a client over one HTTP/2 connection to the sidecar. */
export function createOspClient(options: OspClientOptions): OspClient {
  const interceptors = [traceContext(), retryUnavailable(options.maxAttempts, options.retryBackoffMs)];
  if (options.token) {
    interceptors.unshift(bearerToken(options.token));
  }
  const transport = createGrpcTransport({
    baseUrl: baseUrlOf(options.address),
    defaultTimeoutMs: options.timeoutMs,
    interceptors,
    // A change stream may be silent for hours: HTTP/2 pings while a stream
    // is open notice a dead connection (the stream then fails and the
    // caller reconnects) instead of waiting forever.
    pingIntervalMs: 30_000,
    pingTimeoutMs: 10_000,
  });
  return ospClientOver(transport);
}

/** Creates a client over a given transport (tests use in-memory ones). */
export function ospClientOver(transport: Transport): OspClient {
  const health = createClient(Health, transport);
  return {
    templates: mapErrors(TemplateService, createClient(TemplateService, transport)),
    claims: mapErrors(ClaimService, createClient(ClaimService, transport)),
    publish: mapErrors(PublishService, createClient(PublishService, transport)),
    catalog: mapErrors(CatalogService, createClient(CatalogService, transport)),
    async ready() {
      try {
        const res = await health.check({ service: '' });
        return res.status === HealthCheckResponse_ServingStatus.SERVING;
      } catch {
        return false;
      }
    },
  };
}

/** A per-call `timeoutMs` of 0 (or less) means no deadline to connect. */
const NO_DEADLINE = 0;

/** Wraps every method so failures surface as Backstage errors. */
function mapErrors<S extends DescService>(service: S, client: Client<S>): Client<S> {
  const wrapped: Record<string, unknown> = {};
  for (const method of service.methods) {
    const name = `${service.typeName.split('.').pop()}.${method.name}`;
    const call = (client as Record<string, (...args: unknown[]) => unknown>)[method.localName];
    if (method.methodKind === 'unary') {
      wrapped[method.localName] = async (...args: unknown[]) => {
        try {
          return await call(...args);
        } catch (e) {
          throw toBackstageError(e, name);
        }
      };
    } else {
      // The transport's default deadline is meant for unary calls; a
      // stream that outlived it would be cut every `timeoutMs`.
      wrapped[method.localName] = (input: unknown, options?: CallOptions) =>
        mapStreamErrors(
          call(input, { ...options, timeoutMs: options?.timeoutMs ?? NO_DEADLINE }) as AsyncIterable<unknown>,
          name,
        );
    }
  }
  return wrapped as Client<S>;
}

async function* mapStreamErrors<T>(stream: AsyncIterable<T>, name: string) {
  try {
    yield* stream;
  } catch (e) {
    throw toBackstageError(e, name);
  }
}
