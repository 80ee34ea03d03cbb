import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  AuthenticationError,
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { BadRequestSchema } from './gen/google/rpc/error_details_pb';
import { fieldViolationsOf, toBackstageError } from './errors';

describe('toBackstageError', () => {
  const cases: { reason: string; code: Code; want: new (...args: never[]) => Error }[] = [
    { reason: 'bad input is a 400', code: Code.InvalidArgument, want: InputError },
    { reason: 'a denied call is a 403', code: Code.PermissionDenied, want: NotAllowedError },
    { reason: 'a missing token is a 401', code: Code.Unauthenticated, want: AuthenticationError },
    { reason: 'an unknown definition is a 404', code: Code.NotFound, want: NotFoundError },
    { reason: 'apply disabled is a 409', code: Code.FailedPrecondition, want: ConflictError },
    { reason: 'a sidecar down is a 503', code: Code.Unavailable, want: ServiceUnavailableError },
    { reason: 'a timeout is a 503', code: Code.DeadlineExceeded, want: ServiceUnavailableError },
  ];
  it.each(cases)('$reason', ({ code, want }) => {
    const err = toBackstageError(new ConnectError('boom', code), 'ClaimService.RenderClaim');
    expect(err).toBeInstanceOf(want);
    expect(err.message).toBe('osp sidecar ClaimService.RenderClaim: boom');
  });

  it('carries and names the field violations of INVALID_ARGUMENT', () => {
    const details = create(BadRequestSchema, {
      fieldViolations: [
        { field: 'spec.parameters.size', description: 'must be at least 1' },
        { field: 'name', description: 'must be a DNS label' },
      ],
    });
    const cause = new ConnectError('2 invalid fields', Code.InvalidArgument, undefined, [
      { desc: BadRequestSchema, value: details },
    ]);
    const err = toBackstageError(cause, 'ClaimService.RenderClaim');
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain('spec.parameters.size: must be at least 1');
    expect(err.message).toContain('name: must be a DNS label');
    expect(fieldViolationsOf(err)).toEqual([
      { field: 'spec.parameters.size', description: 'must be at least 1' },
      { field: 'name', description: 'must be a DNS label' },
    ]);
    // anyPack is how a server would pack it; the round trip must agree.
    expect(anyPack(BadRequestSchema, details).typeUrl).toBe(
      'type.googleapis.com/google.rpc.BadRequest',
    );
  });

  const once: { reason: string; message: string; want: string }[] = [
    {
      reason: 'a violation the sidecar message names is not repeated',
      message: 'claim is invalid: spec.parameters: small apps run at most 5 replicas',
      want: 'osp sidecar ClaimService.RenderClaim: claim is invalid: spec.parameters: small apps run at most 5 replicas',
    },
    {
      reason: 'a violation the message does not name is added',
      message: '1 invalid field',
      want: 'osp sidecar ClaimService.RenderClaim: 1 invalid field (spec.parameters: small apps run at most 5 replicas)',
    },
  ];
  it.each(once)('$reason', ({ message, want }) => {
    const details = create(BadRequestSchema, {
      fieldViolations: [
        { field: 'spec.parameters', description: 'small apps run at most 5 replicas' },
      ],
    });
    const cause = new ConnectError(message, Code.InvalidArgument, undefined, [
      { desc: BadRequestSchema, value: details },
    ]);
    const err = toBackstageError(cause, 'ClaimService.RenderClaim');
    expect(err.message).toBe(want);
    expect(err.message.split('small apps run at most 5 replicas')).toHaveLength(2);
  });

  it('passes errors that are not gRPC failures through', () => {
    const plain = new TypeError('nope');
    expect(toBackstageError(plain, 'x')).toBe(plain);
  });
});
