import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { ConfigReader } from '@backstage/config';
import {
  InputError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { propagation, type TextMapPropagator } from '@opentelemetry/api';
import { createOspClient } from './client';
import { fieldViolationsOf } from './errors';
import { BadRequestSchema } from './gen/google/rpc/error_details_pb';
import { Health, HealthCheckResponse_ServingStatus } from './gen/grpc/health/v1/health_pb';
import { ClaimService } from './gen/osp/v1/claims_pb';
import { TemplateService } from './gen/osp/v1/templates_pb';
import { readOspClientOptions, type OspClientOptions } from './options';
import { serveRoutes } from './testing';

const base: Omit<OspClientOptions, 'address'> = {
  timeoutMs: 2000,
  maxAttempts: 3,
  retryBackoffMs: 10,
};

describe('createOspClient against a gRPC server', () => {
  let calls = 0;
  let failFirst = 0;
  let seen: Headers[] = [];
  let server: Awaited<ReturnType<typeof serveRoutes>>;

  beforeAll(async () => {
    server = await serveRoutes(router => {
      router.service(TemplateService, {
        async listDefinitions(_req, ctx) {
          calls++;
          seen.push(ctx.requestHeader);
          if (calls <= failFirst) {
            throw new ConnectError('not synced yet', Code.Unavailable);
          }
          return { definitions: [{ name: 'xdbs.example.org', targetKind: 'DB' }] };
        },
        async convertDefinition() {
          throw new ConnectError('unknown definition `x`', Code.NotFound);
        },
      });
      router.service(ClaimService, {
        async renderClaim(req) {
          if (req.name === 'slow') {
            await new Promise(r => setTimeout(r, 500));
          }
          throw new ConnectError('1 invalid field', Code.InvalidArgument, undefined, [
            {
              desc: BadRequestSchema,
              value: create(BadRequestSchema, {
                fieldViolations: [{ field: 'spec.size', description: 'must be >= 1' }],
              }),
            },
          ]);
        },
      });
      router.service(Health, {
        async check() {
          return { status: HealthCheckResponse_ServingStatus.SERVING };
        },
      });
    });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    calls = 0;
    failFirst = 0;
    seen = [];
  });

  it('retries UNAVAILABLE with backoff and then succeeds', async () => {
    failFirst = 2;
    const client = createOspClient({ ...base, address: server.address });
    const res = await client.templates.listDefinitions({});
    expect(res.definitions[0].name).toBe('xdbs.example.org');
    expect(calls).toBe(3);
  });

  it('gives up after maxAttempts with ServiceUnavailableError', async () => {
    failFirst = 10;
    const client = createOspClient({ ...base, address: server.address });
    await expect(client.templates.listDefinitions({})).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
    expect(calls).toBe(3);
  });

  it('decodes field violations from grpc-status-details-bin', async () => {
    const client = createOspClient({ ...base, address: server.address });
    const err = await client.claims.renderClaim({ name: 'db' }).catch(e => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain('spec.size: must be >= 1');
    expect(fieldViolationsOf(err)).toEqual([{ field: 'spec.size', description: 'must be >= 1' }]);
  });

  it('maps NOT_FOUND to NotFoundError', async () => {
    const client = createOspClient({ ...base, address: server.address });
    await expect(client.templates.convertDefinition({})).rejects.toBeInstanceOf(NotFoundError);
  });

  it('enforces the deadline', async () => {
    const client = createOspClient({ ...base, timeoutMs: 100, address: server.address });
    await expect(client.claims.renderClaim({ name: 'slow' })).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
  });

  it('sends the bearer token, re-reading the token file on each call', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'osp-token-')), 'token');
    writeFileSync(file, 'first\n');
    const options = readOspClientOptions(
      new ConfigReader({
        osp: { sidecar: { address: server.address, tokenFile: file, retry: { backoffMs: 1 } } },
      }),
    );
    const client = createOspClient(options);
    await client.templates.listDefinitions({});
    writeFileSync(file, 'second\n');
    await client.templates.listDefinitions({});
    expect(seen.map(h => h.get('authorization'))).toEqual(['Bearer first', 'Bearer second']);
  });

  it('propagates the trace context with the registered propagator', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const fixed: TextMapPropagator = {
      inject: (_ctx, carrier, setter) => setter.set(carrier, 'traceparent', traceparent),
      extract: ctx => ctx,
      fields: () => ['traceparent'],
    };
    propagation.setGlobalPropagator(fixed);
    try {
      const client = createOspClient({ ...base, address: server.address });
      await client.templates.listDefinitions({});
      expect(seen[0].get('traceparent')).toBe(traceparent);
      expect(seen[0].get('authorization')).toBeNull();
    } finally {
      propagation.disable();
    }
  });

  it('reports readiness from the health service', async () => {
    expect(await createOspClient({ ...base, address: server.address }).ready()).toBe(true);
    expect(
      await createOspClient({ ...base, maxAttempts: 1, address: '127.0.0.1:1' }).ready(),
    ).toBe(false);
  });
});

describe('readOspClientOptions', () => {
  it('uses defaults for an empty config', () => {
    const o = readOspClientOptions(new ConfigReader({}));
    expect(o).toMatchObject({ address: '127.0.0.1:50051', timeoutMs: 10000, maxAttempts: 4 });
    expect(o.token).toBeUndefined();
  });

  it('prefers an inline token', () => {
    const o = readOspClientOptions(
      new ConfigReader({ osp: { sidecar: { token: 't', tokenFile: '/nonexistent', timeoutMs: 5 } } }),
    );
    expect(o.token?.()).toBe('t');
    expect(o.timeoutMs).toBe(5);
  });
});

describe('an unreachable sidecar', () => {
  it('is retried and reported as ServiceUnavailableError', async () => {
    const client = createOspClient({ ...base, address: '127.0.0.1:1' });
    const started = Date.now();
    await expect(client.templates.listDefinitions({})).rejects.toBeInstanceOf(ServiceUnavailableError);
    // Two backoffs (10 ms, 20 ms) prove it retried.
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
  });
});
