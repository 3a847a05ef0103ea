import type { FastifyError, FastifyInstance } from 'fastify';
import { ApiError, errors, isApiError } from '../domain/errors.ts';

/** Fastify's own client errors, translated into the catalogue. */
function fromFastify(err: FastifyError, bodyLimit: number, contentType: string | undefined): ApiError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
      return errors.bodyTooLarge(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(contentType, ['application/json', 'multipart/form-data']);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.invalid('invalid_json', 'The request body is empty; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errors.invalidJson('it could not be parsed');
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return errors.invalid('too_many_parts', 'The multipart body has too many parts; send the fields and at most two image files.');
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return errors.invalid('invalid_multipart', 'The multipart body is malformed.');
  }
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
    return errors.invalidJson(err instanceof SyntaxError ? 'it could not be parsed' : 'the Content-Length does not match the body');
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    // Other framework-level client errors: keep the status, never echo internals.
    return new ApiError(err.statusCode, 'invalid_request_error', 'invalid_request', 'The request could not be processed as sent.');
  }
  return undefined;
}

export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    let api = isApiError(err) ? err : fromFastify(err, bodyLimit, req.headers['content-type']);
    if (!api) {
      req.log.error({ err }, 'unhandled error');
      api = errors.internal(err);
    } else if (api.status >= 500) {
      req.log.error({ err: api.cause ?? api }, api.message);
    }
    reply.status(api.status).headers(api.headers).send({
      error: { type: api.type, code: api.code, message: api.message, param: api.param },
    });
  });
  app.setNotFoundHandler((req, reply) => {
    const e = errors.routeNotFound(req.method, req.url.split('?')[0] ?? '');
    reply.status(404).send({ error: { type: e.type, code: e.code, message: e.message, param: null } });
  });
}
