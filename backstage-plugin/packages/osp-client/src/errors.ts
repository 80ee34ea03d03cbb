import { Code, ConnectError } from '@connectrpc/connect';
import {
  AuthenticationError,
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
  NotImplementedError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { BadRequestSchema } from './gen/google/rpc/error_details_pb';

/** One invalid field, as the sidecar reports it (`spec.parameters.size`). */
export interface FieldViolation {
  field: string;
  description: string;
}

const violationsKey = 'fieldViolations';

/** The field violations an `InputError` from this client carries. */
export function fieldViolationsOf(error: unknown): FieldViolation[] {
  const v = (error as Record<string, unknown> | undefined)?.[violationsKey];
  return Array.isArray(v) ? (v as FieldViolation[]) : [];
}

/**
 * Turns a gRPC failure into the Backstage error of the same meaning, so the
 * scaffolder and the catalog report it with the right HTTP status. Anything
 * that is not a gRPC failure is returned unchanged.
 */
export function toBackstageError(error: unknown, method: string): Error {
  if (!(error instanceof ConnectError)) {
    return error instanceof Error ? error : new Error(String(error));
  }
  const message = `osp sidecar ${method}: ${error.rawMessage}`;
  switch (error.code) {
    case Code.InvalidArgument: {
      const violations: FieldViolation[] = error
        .findDetails(BadRequestSchema)
        .flatMap(d => d.fieldViolations)
        .map(v => ({ field: v.field, description: v.description }));
      // The message names every field, because Backstage serializes only
      // name and message of an error to the browser.
      const detail = violations
        .map(v => `${v.field}: ${v.description}`)
        .join('; ');
      const input = new InputError(detail ? `${message} (${detail})` : message);
      Object.defineProperty(input, violationsKey, {
        value: violations,
        enumerable: true,
      });
      return input;
    }
    case Code.PermissionDenied:
      return new NotAllowedError(message);
    case Code.Unauthenticated:
      return new AuthenticationError(message);
    case Code.NotFound:
      return new NotFoundError(message);
    case Code.AlreadyExists:
    case Code.Aborted:
    case Code.FailedPrecondition:
      return new ConflictError(message);
    case Code.Unimplemented:
      return new NotImplementedError(message);
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.ResourceExhausted:
      return new ServiceUnavailableError(message);
    default:
      return new Error(`${message} (${Code[error.code]})`);
  }
}
