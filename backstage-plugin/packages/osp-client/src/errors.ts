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

// Socket errors that mean "the sidecar is not there (yet)", which connect
// reports as INTERNAL.
const unreachable = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'ETIMEDOUT']);

/** True when the call failed because the sidecar is unavailable or unreachable. */
export function isUnavailable(error: unknown): boolean {
  const err = ConnectError.from(error);
  if (err.code === Code.Unavailable) {
    return true;
  }
  for (let e: unknown = err.cause ?? error; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && unreachable.has(code)) {
      return true;
    }
    if (e === (e as { cause?: unknown }).cause) break;
  }
  return /\b(ECONNREFUSED|ECONNRESET)\b/.test(err.rawMessage);
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
  if (isUnavailable(error)) {
    return new ServiceUnavailableError(message);
  }
  switch (error.code) {
    case Code.InvalidArgument: {
      const violations: FieldViolation[] = error
        .findDetails(BadRequestSchema)
        .flatMap(d => d.fieldViolations)
        .map(v => ({ field: v.field, description: v.description }));
      // The message names every field, because Backstage serializes only
      // name and message of an error to the browser. The sidecar's message
      // usually names them already (`claim is invalid: spec.x: ...`): only
      // the ones it does not name (e.g. cut off by its length bound) are
      // added, so no violation reads twice.
      const detail = violations
        .map(v => `${v.field}: ${v.description}`)
        .filter(text => !error.rawMessage.includes(text))
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
