/**
 * Kubernetes `Status` objects (meta/v1) — the body of every error the API server returns,
 * and of the ERROR events of a watch stream. Messages and reasons follow the real server's
 * wording so that client code written against the fake reads real errors the same way.
 */

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'Expired'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'MethodNotAllowed'
  | 'NotAcceptable';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
  retryAfterSeconds?: number;
}

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { continue?: string; resourceVersion?: string };
  status: 'Failure';
  message: string;
  reason: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** An error that carries the Status the HTTP layer sends; the store's helpers throw it too. */
export class KubeStatusError extends Error {
  readonly status: KubeStatus;
  constructor(status: KubeStatus) {
    super(status.message);
    this.name = 'KubeStatusError';
    this.status = status;
  }
  get code(): number {
    return this.status.code;
  }
  get reason(): StatusReason {
    return this.status.reason;
  }
}

export function status(
  code: number,
  reason: StatusReason,
  message: string,
  details?: StatusDetails,
  metadata: KubeStatus['metadata'] = {},
): KubeStatus {
  const s: KubeStatus = { kind: 'Status', apiVersion: 'v1', metadata, status: 'Failure', message, reason, code };
  if (details) s.details = details;
  return s;
}

export function statusError(
  code: number,
  reason: StatusReason,
  message: string,
  details?: StatusDetails,
  metadata?: KubeStatus['metadata'],
): KubeStatusError {
  return new KubeStatusError(status(code, reason, message, details, metadata));
}

/** The real server's message for a path no handler serves. */
export const NOT_FOUND_MESSAGE = 'the server could not find the requested resource';

export function badRequest(message: string): KubeStatusError {
  return statusError(400, 'BadRequest', message);
}

/** 422 for invalid ListOptions, as the real server's query validation reports them. */
export function invalidListOptions(field: string, message: string): KubeStatusError {
  return statusError(422, 'Invalid', `ListOptions.meta.k8s.io "" is invalid: ${field}: ${message}`, {
    group: 'meta.k8s.io',
    kind: 'ListOptions',
    causes: [{ reason: 'FieldValueInvalid', message, field }],
  });
}

/** The canned Status for an injected (or genuine) HTTP failure code. */
export function statusForCode(code: number, resource: string, verb: string, retryAfterSeconds?: number): KubeStatus {
  const details: StatusDetails | undefined = retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined;
  switch (code) {
    case 401:
      return status(401, 'Unauthorized', 'Unauthorized', details);
    case 403:
      return status(
        403,
        'Forbidden',
        `${resource || 'the resource'} is forbidden: User "system:anonymous" cannot ${verb} resource "${resource.split('.')[0] || ''}"`,
        details,
      );
    case 404:
      return status(404, 'NotFound', NOT_FOUND_MESSAGE, details);
    case 429:
      return status(429, 'TooManyRequests', 'Too many requests, please try again later.', details);
    case 500:
      return status(500, 'InternalError', 'Internal error occurred: injected fault', {
        ...details,
        causes: [{ message: 'injected fault' }],
      });
    case 503:
      return status(503, 'ServiceUnavailable', 'The server is currently unable to handle the request', details);
    case 504:
      return status(
        504,
        'Timeout',
        'The server was unable to return a response in the time allotted, but may still be processing the request',
        details,
      );
    default:
      return status(code, 'InternalError', `injected failure ${code}`, details);
  }
}
